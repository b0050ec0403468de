# Cross build for 64-bit ARM (the NEON kernels) with Debian's gcc-aarch64-linux-gnu; ctest
# runs every test binary through qemu-user, so the ARM path is executed, not just compiled.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=tools/aarch64-toolchain.cmake
#   cmake --build build-aarch64 -j2 && ctest --test-dir build-aarch64 --output-on-failure
#
# CD_AARCH64_SYSROOT overrides the target root (default: Debian's /usr/aarch64-linux-gnu).
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "the aarch64 cross build needs CMake >= 3.20 (file(GENERATE) with permissions)")
endif()
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CD_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "aarch64 target root (libc, libgomp)")
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH ${CD_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: where qemu finds the target's dynamic loader and shared libraries.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;${CD_AARCH64_SYSROOT})

file(REMOVE_RECURSE
  "libclipdebias_engine.a"
)

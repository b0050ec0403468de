// ONNX Runtime side of bench/compare_ort.sh: one inference session on the exported image
// tower (tools/gen/export_onnx.py), the first BATCH images of a pixels .npy, a warm-up, then
// REPS timed session.run calls. Prints one JSON line:
//   {"side": "ort", "batch": B, "threads": T, "load_s": session creation, "first_s": first run,
//    "reps_s": [each timed run], "version": "1.xx"}
// and writes the features of the last run to --out (float32 .npy). With --reps 0 it is the
// whole-process case: start, create the session, encode once, write, exit.
//
// usage: NODE_PATH=<dir>/node_modules node bench/ort_encode.js MODEL.onnx PIXELS.npy
//          [--batch B] [--threads T] [--warmup W] [--reps R] [--out F.npy] [--no-spin]
// --no-spin: idle pool threads sleep instead of spinning (session.intra_op.allow_spinning = 0),
// for machines with more runnable threads than cores.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function fail(msg) {
  process.stderr.write(`ort_encode: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = {batch: 1, threads: 2, warmup: 2, reps: 10, out: null, spin: true, pos: []};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) { a.pos.push(k); continue; }
    if (k === '--no-spin') { a.spin = false; continue; }
    const v = argv[++i];
    if (v === undefined) fail(`${k} needs a value`);
    if (k === '--out') a.out = v;
    else if (['--batch', '--threads', '--warmup', '--reps'].includes(k)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) fail(`${k} ${v}: expected a non-negative integer`);
      a[k.slice(2)] = n;
    } else fail(`unknown option ${k}`);
  }
  if (a.pos.length !== 2) fail('usage: ort_encode.js MODEL.onnx PIXELS.npy [--batch B] [--threads T] [--warmup W] [--reps R] [--out F.npy] [--no-spin]');
  if (a.batch < 1 || a.threads < 1) fail('--batch and --threads must be >= 1');
  return a;
}

// float32 C-order .npy (format 1.0 or 2.0) -> {shape, data: Float32Array}
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    fail(`${path}: expected little-endian float32 in C order, header ${header.trim()}`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const count = shape.reduce((x, y) => x * y, 1);
  if (buf.length - start < count * 4) fail(`${path}: truncated (${buf.length - start} data bytes, need ${count * 4})`);
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(start, start + count * 4));
  return {shape, data};
}

// Atomic like the engine's outputs: temporary file, then rename.
function writeNpy(path, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
  fs.renameSync(tmp, path);
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const [modelPath, pixelsPath] = a.pos;
  const px = readNpy(pixelsPath);
  if (px.shape.length !== 4 || px.shape[1] !== 3 || px.shape[0] < a.batch)
    fail(`${pixelsPath}: shape [${px.shape}], need [>=${a.batch}, 3, S, S]`);
  const per = px.shape[1] * px.shape[2] * px.shape[3];
  const input = new ort.Tensor('float32', px.data.subarray(0, a.batch * per), [a.batch, ...px.shape.slice(1)]);

  let t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: {session: {intra_op: {allow_spinning: a.spin ? '1' : '0'}}},
  });
  const loadS = seconds(t0);
  const feeds = {[session.inputNames[0]]: input};
  let out;
  t0 = process.hrtime.bigint();
  out = await session.run(feeds);
  const firstS = seconds(t0);
  for (let i = 1; i < a.warmup; i++) out = await session.run(feeds);
  const reps = [];
  for (let i = 0; i < a.reps; i++) {
    t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    reps.push(seconds(t0));
  }
  const feat = out[session.outputNames[0]];
  if (a.out) writeNpy(a.out, feat.dims, feat.data);
  console.log(JSON.stringify({side: 'ort', batch: a.batch, threads: a.threads, load_s: loadS, first_s: firstS,
                              reps_s: reps, spin: a.spin, version: ort.env.versions.common}));
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));

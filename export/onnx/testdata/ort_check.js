// ort_check.js runs ONNX models exported by kiln's export/onnx through
// onnxruntime, the reference implementation, and records the outputs that
// export/onnx's tests compare with kiln's own Predict.
//
// For each MODEL.onnx given, it reads MODEL.input.json ({"shape": [...],
// "data": [...]}, float32 values), runs the model's "input" through
// onnxruntime (CPU, one thread) and writes MODEL.ort.json: the "output"
// tensor's shape and data, the onnxruntime version and the SHA-256 of the
// .onnx file it ran (the Go test checks that it is the committed file).
//
// Regenerate the fixtures (from the module root, /work/main):
//
//   1. Export the models and write their inputs (the fixture models are
//      defined in export/onnx/fixtures_test.go, the Functional ones in graph_test.go):
//        KILN_ONNX_REGEN=1 go test ./export/onnx -run TestRegenerateFixtures -v
//   2. Install onnxruntime-node outside the repository (its CPU binaries are
//      bundled in the npm package; ONNXRUNTIME_NODE_INSTALL=skip skips the
//      optional CUDA download from nuget.org):
//        mkdir -p /tmp/ortcheck && cd /tmp/ortcheck && npm init -y &&
//        ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0
//   3. Run onnxruntime on them:
//        NODE_PATH=/tmp/ortcheck/node_modules node export/onnx/testdata/ort_check.js export/onnx/testdata/*.onnx
//   4. go test ./export/onnx
//
// Node is needed only to regenerate; go test reads the committed outputs.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const ort = require('onnxruntime-node');

async function check(onnxPath) {
  const base = onnxPath.replace(/\.onnx$/, '');
  const bytes = fs.readFileSync(onnxPath);
  const input = JSON.parse(fs.readFileSync(base + '.input.json', 'utf8'));
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  if (session.inputNames.join() !== 'input' || session.outputNames.join() !== 'output') {
    throw new Error(`${onnxPath}: inputs ${session.inputNames}, outputs ${session.outputNames}; want input, output`);
  }
  const x = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
  const y = (await session.run({ input: x })).output;
  if (y.type !== 'float32') {
    throw new Error(`${onnxPath}: output type ${y.type}, want float32`);
  }
  const rows = [];
  const w = y.dims.slice(1).reduce((a, b) => a * b, 1);
  for (let r = 0; r < y.dims[0]; r++) {
    // Each float32 printed as the double it converts to: exact.
    rows.push('  ' + Array.from(y.data.slice(r * w, (r + 1) * w)).map(String).join(', '));
  }
  const out = '{"onnx": ' + JSON.stringify(path.basename(onnxPath)) +
    ',\n "onnx_sha256": ' + JSON.stringify(crypto.createHash('sha256').update(bytes).digest('hex')) +
    ',\n "onnxruntime": ' + JSON.stringify(ort.env.versions.common) +
    ',\n "shape": ' + JSON.stringify(Array.from(y.dims)) +
    ',\n "data": [\n' + rows.join(',\n') + '\n]}\n';
  fs.writeFileSync(base + '.ort.json', out);
  console.log(`${onnxPath}: output ${JSON.stringify(Array.from(y.dims))} -> ${path.basename(base)}.ort.json`);
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node ort_check.js MODEL.onnx...');
    process.exit(2);
  }
  for (const f of files) {
    await check(f);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// gen_tfjs.js — regenerates the tfjs_*.json Keras-format model fixtures in
// this directory from real TensorFlow.js (tfjs-layers) serialisation.
//
// Generated with @tensorflow/tfjs 4.22.0 (tfjs-layers 4.22.0) on Node v20.20.2.
//
// To regenerate (from any scratch directory outside the repo):
//
//   mkdir -p /tmp/kerasfix && cd /tmp/kerasfix
//   npm init -y && npm install @tensorflow/tfjs@4.22.0
//   NODE_PATH=/tmp/kerasfix/node_modules node /work/main/config/testdata/keras/gen_tfjs.js
//
// (An optional first argument names the output directory; the default is the
// directory this script lives in.) The pure-JS @tensorflow/tfjs package is
// enough: no native tfjs-node binding is needed, only the layer configs are
// serialised. It prints a "Hi, looks like you are running TensorFlow.js in
// Node.js" hint on stderr, which is harmless.
//
// Each file is JSON.stringify(model.toJSON(null, false), null, 1).
// LayersModel.toJSON(unused, returnString = true) returns the Keras-format
// topology {class_name, config, keras_version, backend} (converted to
// pythonic snake_case keys by convertTsToPythonic); passing returnString=false
// returns the object rather than a JSON string, so the file holds the Keras
// JSON object itself, not a string of a string.
//
// NOTE on initializers: tfjs' Dense defaults to kernelInitializer
// 'glorotNormal' (tfjs-layers src/layers/core.ts DEFAULT_KERNEL_INITIALIZER),
// not Python Keras' 'glorot_uniform'. The models meant to translate to kiln
// (seed, mlp, activation, unsupported, batchnorm) therefore pass
// kernelInitializer: 'glorotUniform' explicitly, as the Python Keras programs
// they mirror get by default. tfjs_default_init.json keeps the tfjs default so
// the importer is tested on what an unmodified tfjs program produces:
// VarianceScaling{scale 1, mode fan_avg, distribution normal} = glorot_normal.
//
// Layer and model names (sequential_1, dense_Dense1, ...) come from tfjs'
// global per-class counters, so they are stable only as long as the models
// below are built in the same order within one run.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const outDir = process.argv[2] || __dirname;
const GU = 'glorotUniform'; // Python Keras' Dense default; tfjs' is glorotNormal

function write(name, model) {
  const obj = model.toJSON(null, false);
  if (typeof obj !== 'object' || obj === null || obj.class_name !== 'Sequential') {
    throw new Error(`${name}: toJSON did not return a Sequential Keras object`);
  }
  const file = path.join(outDir, name);
  fs.writeFileSync(file, JSON.stringify(obj, null, 1) + '\n');
  console.log(`wrote ${file}`);
}

// 1. The Stack Overflow 69485339 model: Flatten(28x28) -> Dense(10, sigmoid).
write('tfjs_seed.json', tf.sequential({
  layers: [
    tf.layers.flatten({inputShape: [28, 28]}),
    tf.layers.dense({units: 10, activation: 'sigmoid', kernelInitializer: GU}),
  ],
}));

// 2. Plain MLP with dropout.
write('tfjs_mlp.json', tf.sequential({
  layers: [
    tf.layers.dense({units: 128, activation: 'relu', inputShape: [784], kernelInitializer: GU}),
    tf.layers.dropout({rate: 0.2}),
    tf.layers.dense({units: 10, activation: 'softmax', kernelInitializer: GU}),
  ],
}));

// 3. Separate Activation layers, a bias-free Dense, a rank-2 input.
write('tfjs_activation.json', tf.sequential({
  layers: [
    tf.layers.flatten({inputShape: [4, 3]}),
    tf.layers.dense({units: 8, useBias: false, kernelInitializer: GU}),
    tf.layers.activation({activation: 'tanh'}),
    tf.layers.dense({units: 3, kernelInitializer: GU}),
    tf.layers.activation({activation: 'softmax'}),
  ],
}));

// 4. A layer kiln does not have (Conv2D): the importer must reject it.
write('tfjs_unsupported.json', tf.sequential({
  layers: [
    tf.layers.conv2d({inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu'}),
    tf.layers.flatten(),
    tf.layers.dense({units: 10, activation: 'softmax', kernelInitializer: GU}),
  ],
}));

// 5. A non-glorot kernel initializer (heNormal): the importer must reject or flag it.
write('tfjs_initializer.json', tf.sequential({
  layers: [
    tf.layers.dense({units: 10, activation: 'softmax', kernelInitializer: 'heNormal', inputShape: [784]}),
  ],
}));

// 6. The seed model exactly as an unmodified tfjs program builds it: Dense's
// default kernel initializer is glorotNormal, which kiln does not implement.
write('tfjs_default_init.json', tf.sequential({
  layers: [
    tf.layers.flatten({inputShape: [28, 28]}),
    tf.layers.dense({units: 10, activation: 'sigmoid'}),
  ],
}));

// 7. BatchNormalization: after a bias-free Conv2D (tfjs' defaults: axis -1,
// momentum 0.99, epsilon 0.001, center and scale), and after a bias-free
// Dense with non-default momentum and epsilon.
write('tfjs_batchnorm.json', tf.sequential({
  layers: [
    tf.layers.conv2d({inputShape: [28, 28, 1], filters: 8, kernelSize: 3, useBias: false, kernelInitializer: GU}),
    tf.layers.batchNormalization(),
    tf.layers.activation({activation: 'relu'}),
    tf.layers.maxPooling2d({poolSize: 2}),
    tf.layers.flatten(),
    tf.layers.dense({units: 16, useBias: false, kernelInitializer: GU}),
    tf.layers.batchNormalization({momentum: 0.9, epsilon: 1e-5}),
    tf.layers.activation({activation: 'relu'}),
    tf.layers.dense({units: 10, activation: 'softmax', kernelInitializer: GU}),
  ],
}));

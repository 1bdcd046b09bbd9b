// gen_tfjs_functional.js — regenerates tfjs_functional*.json, Keras-format
// Functional (graph) model fixtures, from real TensorFlow.js (tfjs-layers)
// serialisation, like gen_tfjs.js does for Sequential models.
//
// Generated with @tensorflow/tfjs 4.22.0 (tfjs-layers 4.22.0) on Node v20.20.2:
//
//   mkdir -p /tmp/kerasfix && cd /tmp/kerasfix
//   npm init -y && npm install @tensorflow/tfjs@4.22.0
//   NODE_PATH=/tmp/kerasfix/node_modules node /work/main/config/testdata/keras/gen_tfjs_functional.js
//
// Each file is JSON.stringify(model.toJSON(null, false), null, 1): the Keras
// topology {class_name: "Model", config: {name, layers (each with
// inbound_nodes [[[name, 0, 0, {}], ...]]), input_layers, output_layers}}.
// Dense layers pass kernelInitializer: 'glorotUniform' (Keras' default;
// tfjs' is glorotNormal). Layer names are given explicitly, as Keras would
// name them in a fresh session, so the files do not depend on tfjs' global
// name counters.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const outDir = process.argv[2] || __dirname;
const GU = 'glorotUniform';

function write(name, model) {
  const obj = model.toJSON(null, false);
  if (typeof obj !== 'object' || obj === null || obj.class_name !== 'Model') {
    throw new Error(`${name}: toJSON did not return a functional (Model) Keras object`);
  }
  const file = path.join(outDir, name);
  fs.writeFileSync(file, JSON.stringify(obj, null, 1) + '\n');
  console.log(`wrote ${file}`);
}

function dense(units, activation, name) {
  return tf.layers.dense({units, activation, kernelInitializer: GU, name});
}

// 1. The golden network (testdata/golden/gen_functional.py) on 28x28 images:
// Flatten, Dense(32, relu), a residual Add, two branches Dense(16, relu) and
// Dense(16, tanh) joined by Concatenate, Dense(10, softmax).
{
  const x = tf.input({shape: [28, 28], name: 'input_1'});
  const f = tf.layers.flatten({name: 'flatten'}).apply(x);
  const h = dense(32, 'relu', 'dense').apply(f);
  const r = dense(32, 'relu', 'dense_1').apply(h);
  const a = tf.layers.add({name: 'add'}).apply([r, h]);
  const b1 = dense(16, 'relu', 'dense_2').apply(a);
  const b2 = dense(16, 'tanh', 'dense_3').apply(a);
  const c = tf.layers.concatenate({name: 'concatenate'}).apply([b1, b2]);
  const y = dense(10, 'softmax', 'dense_4').apply(c);
  write('tfjs_functional.json', tf.model({inputs: x, outputs: y, name: 'model'}));
}

// 2. Multiply, Average and Concatenate on axis 1 of (4, 3) feature maps.
{
  const x = tf.input({shape: [4, 3], name: 'input_1'});
  const p = dense(3, 'sigmoid', 'gate').apply(x);
  const q = dense(3, 'tanh', 'value').apply(x);
  const m = tf.layers.multiply({name: 'multiply'}).apply([p, q]);
  const v = tf.layers.average({name: 'average'}).apply([m, x]);
  const c = tf.layers.concatenate({axis: 1, name: 'concatenate'}).apply([v, x]);
  const f = tf.layers.flatten({name: 'flatten'}).apply(c);
  const y = dense(2, 'softmax', 'dense').apply(f);
  write('tfjs_functional_merges.json', tf.model({inputs: x, outputs: y, name: 'gated'}));
}

// 3. Two inputs (refused by kiln: one input only).
{
  const a = tf.input({shape: [4], name: 'input_1'});
  const b = tf.input({shape: [4], name: 'input_2'});
  const s = tf.layers.add({name: 'add'}).apply([a, b]);
  const y = dense(1, 'sigmoid', 'dense').apply(s);
  write('tfjs_functional_two_inputs.json', tf.model({inputs: [a, b], outputs: y, name: 'two'}));
}

// 4. A shared layer (refused by kiln: each layer is called once).
{
  const x = tf.input({shape: [4], name: 'input_1'});
  const d = dense(4, 'relu', 'shared');
  const y = dense(1, 'sigmoid', 'dense').apply(d.apply(d.apply(x)));
  write('tfjs_functional_shared.json', tf.model({inputs: x, outputs: y, name: 'shared_model'}));
}

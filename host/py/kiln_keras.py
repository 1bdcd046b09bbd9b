"""kiln's stand-in Keras (host mode).

The program runs in its own Python; this module provides keras,
tensorflow and tensorflow.keras. Models, layers, optimizers, losses and
callbacks are recorded here and checked by kiln as they are made;
fit/evaluate/predict hand their arrays to kiln as .npy files, and kiln (Go)
trains, evaluates and predicts. Nothing here computes a neural network.

kiln's boot script imports this module before the program runs; it
registers keras, tensorflow, tensorflow.keras and their submodules in
sys.modules, so the program's imports find them first (before any real
TensorFlow installed). kiln talks to this module over two pipes (requests out, answers in), one
JSON object per line.
"""

import builtins
import difflib
import dis
import importlib.machinery
import itertools
import json
import os
import re
import sys
import traceback
import types

import numpy as np

_MODS = os.path.abspath(os.environ.get("KILN_HOST_MODULES", os.path.dirname(__file__)))
_ARRAYS = os.environ.get("KILN_HOST_ARRAYS", "")
_SHOWN = os.environ.get("KILN_HOST_FILE", "")
_PROGRAM = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""

modules = {}
_seed = None
_npy = itertools.count(1)
_fitting = []
_pycallbacks = {}
_pending = []


# ---------------------------------------------------------------- channel


class _Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, np.bool_):
            return bool(o)
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        j = getattr(type(o), "_kiln_json", None)
        if j is not None:
            return o._kiln_json()
        if isinstance(o, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            raise TypeError(
                "kiln cannot use the Python function %s here: kiln's models use its built-in "
                "activations, losses and metrics, given by name (e.g. activation='relu')" % getattr(o, "__name__", o)
            )
        raise TypeError("kiln cannot take %r (a %s) here; give numbers, strings, tuples or kiln's Keras objects" % (o, type(o).__name__))


class _Channel:
    def __init__(self):
        fds = os.environ.get("KILN_HOST_FDS")
        if not fds:
            raise ImportError(
                "kiln's stand-in keras/tensorflow run only under kiln: run the program with "
                "`kiln fit program.py` (host mode), not with python directly"
            )
        w, r = (int(x) for x in fds.split(","))
        for fd in (w, r):
            os.set_inheritable(fd, False)
        self.w = os.fdopen(w, "wb", buffering=0)
        self.r = os.fdopen(r, "rb")

    def send(self, obj):
        self.w.write((json.dumps(obj, cls=_Encoder, allow_nan=False) + "\n").encode("utf-8"))

    def recv(self):
        line = self.r.readline()
        if not line:
            raise RuntimeError("kiln: the channel to kiln closed")
        return json.loads(line)


_chan = _Channel()


def _where():
    """The program's file:line making the current call."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_MODS + os.sep):
        f = f.f_back
    if f is None:
        return ""
    name = f.f_code.co_filename
    if _SHOWN and os.path.abspath(name) == _PROGRAM:
        name = _SHOWN
    return "%s:%d" % (name, f.f_lineno)


def _exception(err):
    t = getattr(builtins, err.get("type", ""), None)
    if not (isinstance(t, type) and issubclass(t, BaseException)):
        t = RuntimeError
    return t(err.get("message", ""))


def _call(op, **args):
    """Sends a request to kiln and returns its result, writing kiln's
    console output to sys.stdout and running the program's callbacks
    meanwhile."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    _chan.send({"op": op, "at": _where(), "args": args})
    while True:
        msg = _chan.recv()
        if "out" in msg:
            sys.stdout.write(msg["out"])
            sys.stdout.flush()
        elif "event" in msg:
            _event(msg)
        elif "error" in msg:
            raise _exception(msg["error"])
        else:
            return msg.get("result")


def _floats(v):
    """kiln's float lists, with "nan", "inf" and "-inf" for non-finite values."""
    return [float(x) for x in v]


def _note(key, message):
    _call("note", key=key, message=message)


def _array(a, what):
    """Saves an array-like for kiln as .npy and returns its path. Floats go
    as float32, as Keras casts them."""
    if a is None:
        return None
    if hasattr(a, "to_numpy"):  # pandas DataFrame / Series
        a = a.to_numpy()
    try:
        arr = np.asarray(a)
    except Exception as e:
        raise TypeError("%s: kiln takes arrays (numpy, pandas, lists of numbers), got %s (%s)" % (what, type(a).__name__, e))
    k = arr.dtype.kind
    if k == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            first = arr.flat[0] if arr.size else None
            raise TypeError(
                "%s: the array holds Python objects (e.g. %r), not numbers; kiln trains on numbers: "
                "encode them first (e.g. sklearn.preprocessing.LabelEncoder, pd.get_dummies) and convert with .astype('float32')" % (what, first)
            )
        k = "f"
    if k in "USV":
        first = arr.flat[0] if arr.size else ""
        raise TypeError(
            "%s: the array holds strings (e.g. %r); kiln trains on numbers: encode them first, "
            "e.g. sklearn.preprocessing.LabelEncoder or pd.get_dummies" % (what, first)
        )
    if k in "cmM":
        raise TypeError("%s: kiln takes real numbers, got an array of %s" % (what, arr.dtype))
    if arr.ndim == 0:
        raise ValueError("%s: expected an array of samples, got the scalar %r" % (what, arr))
    if k == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    path = os.path.join(_ARRAYS, "%d_%s.npy" % (next(_npy), what.replace("(", "_").replace(")", "").replace("=", "_")))
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
    return path


# ---------------------------------------------------------------- errors

_NEAREST = {
    "LSTM": "kiln has no recurrent layers (LSTM, GRU, SimpleRNN) yet",
    "GRU": "kiln has no recurrent layers (LSTM, GRU, SimpleRNN) yet",
    "SimpleRNN": "kiln has no recurrent layers (LSTM, GRU, SimpleRNN) yet",
    "Bidirectional": "kiln has no recurrent layers yet",
    "Embedding": "kiln has no Embedding layer yet; one-hot the tokens (keras.utils.to_categorical) and use Dense",
    "Conv1D": "kiln has Conv2D: reshape signals to (length, 1, channels) and use Conv2D with kernel_size=(k, 1)",
    "MaxPooling1D": "kiln has MaxPooling2D: reshape signals to (length, 1, channels) and pool with pool_size=(k, 1)",
    "Adadelta": "kiln's optimizers are SGD, Adam, RMSprop and Adagrad",
    "Adamax": "kiln's optimizers are SGD, Adam, RMSprop and Adagrad",
    "Nadam": "kiln's optimizers are SGD, Adam, RMSprop and Adagrad",
    "AdamW": "kiln's optimizers are SGD, Adam, RMSprop and Adagrad (no weight decay yet)",
    "Ftrl": "kiln's optimizers are SGD, Adam, RMSprop and Adagrad",
    "schedules": "kiln has no learning-rate schedules yet; give a constant learning_rate",
    "ReduceLROnPlateau": "kiln has no learning-rate schedules yet; kiln's callbacks are EarlyStopping, ModelCheckpoint and CSVLogger",
    "LearningRateScheduler": "kiln has no learning-rate schedules yet; kiln's callbacks are EarlyStopping, ModelCheckpoint and CSVLogger",
    "TensorBoard": "kiln writes no TensorBoard logs; CSVLogger writes each epoch's logs",
    "fit_generator": "Keras 2's fit_generator: kiln trains on arrays; collect the batches into arrays (np.concatenate) and call model.fit(x, y)",
    "evaluate_generator": "kiln evaluates arrays: model.evaluate(x, y)",
    "predict_generator": "kiln predicts for arrays: model.predict(x)",
    "train_on_batch": "kiln trains with model.fit(x, y, ...)",
    "save": "kiln saves models with `kiln fit program.py --save DIR`, not from the program",
    "save_weights": "kiln saves models with `kiln fit program.py --save DIR`, not from the program",
    "load_weights": "kiln's host mode does not load weights into a program's model",
    "get_weights": "kiln's host mode keeps the weights in kiln; `kiln fit program.py --save DIR` writes them",
    "set_weights": "kiln's host mode keeps the weights in kiln and initialises them from the seed",
    "to_json": "`kiln convert` writes the model as a kiln experiment file",
    "load_model": "kiln loads saved models with `kiln predict DIR`, not from a program",
    "plot_model": "kiln draws no model plots; model.summary() prints the layers",
    "wrappers": "kiln has no scikit-learn wrappers (KerasClassifier); call model.fit directly",
    "applications": "kiln has no pretrained models (keras.applications)",
    "preprocessing": "kiln has no keras.preprocessing; prepare the arrays with numpy, pandas or scikit-learn",
    "data": "kiln trains on arrays: pass numpy arrays (or pandas DataFrames) to model.fit instead of a tf.data.Dataset",
    "compat": "kiln's stand-in is TensorFlow 2 only (no tf.compat.v1 sessions or placeholders)",
    "Session": "kiln's stand-in is TensorFlow 2 only (no sessions)",
    "placeholder": "kiln's stand-in is TensorFlow 2 only (no placeholders)",
    "Merge": "Keras 1's Merge layer: use keras.layers.Concatenate() or Add() with the functional API (keras.Model(inputs, outputs))",
    "regularizers": "kiln has no weight regularizers yet; remove kernel_regularizer= (Dropout is in kiln)",
    "initializers": "kiln's stand-in has no keras.initializers objects; name the initializer instead, e.g. kernel_initializer='he_normal' (kiln has Keras' named initializers)",
    "constraints": "kiln has no weight constraints yet; remove kernel_constraint=",
    "GradientTape": "kiln trains with model.fit; custom training loops (tf.GradientTape) are not in kiln",
    "Variable": "kiln trains with model.fit; TensorFlow variables are not in kiln's stand-in",
}


def _public(mod):
    return sorted(k for k in vars(mod) if not k.startswith("_") and not isinstance(vars(mod)[k], types.ModuleType))


def _missing(where, name, candidates, kind="attribute"):
    msg = "%s has no %s '%s' in kiln's stand-in Keras" % (where, kind, name)
    if name in _NEAREST:
        return msg + ": " + _NEAREST[name]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        msg += "; kiln's nearest equivalent is %s" % close[0]
    if candidates:
        msg += " (kiln has: %s)" % ", ".join(candidates)
    return msg


def _importing_from():
    """Whether the frame that looked up the attribute runs `from m import
    name` (then the error must be an ImportError to keep its message)."""
    f = sys._getframe(2)
    try:
        return f.f_code.co_code[f.f_lasti] == dis.opmap["IMPORT_FROM"]
    except Exception:
        return False


def _module(name, attrs=None, doc=None):
    m = types.ModuleType(name, doc or "kiln's stand-in for %s (host mode)" % name)
    m.__file__ = __file__
    m.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=__file__)
    if attrs:
        vars(m).update(attrs)

    def __getattr__(attr):
        if attr.startswith("__"):
            raise AttributeError("module '%s' has no attribute '%s'" % (name, attr))
        msg = _missing("module '%s'" % name, attr, _public(m))
        if _importing_from():
            raise ImportError(msg, name=name)
        raise AttributeError(msg)

    m.__getattr__ = __getattr__
    modules[name] = m
    sys.modules[name] = m
    return m


class _StandIn:
    """Base of kiln's stand-in objects: a missing attribute is an error
    naming it and kiln's nearest equivalent."""

    def __getattr__(self, attr):
        if attr.startswith("__") or attr.startswith("_kiln"):
            raise AttributeError(attr)
        raise AttributeError(_missing("'%s' object" % type(self).__name__, attr, [a for a in dir(type(self)) if not a.startswith("_")]))


class _Named(_StandIn):
    """A Keras function kiln has built in (an activation, loss or metric),
    passed by name."""

    def __init__(self, module, name, kind):
        self._module, self.__name__, self._kind = module, name, kind

    def _kiln_json(self):
        return self.__name__

    def __call__(self, *a, **k):
        raise NotImplementedError(
            "%s.%s names kiln's %s %s for a model; kiln's stand-in does not compute it in Python" % (self._module, self.__name__, self._kind, self.__name__)
        )

    def __repr__(self):
        return "<function %s>" % self.__name__


# ---------------------------------------------------------------- registry

_hello = _call("hello")


class Layer(_StandIn):
    """A Keras layer: its constructor call is checked by kiln and kept."""

    _kind = "layer"
    _class = "Layer"
    _counts = {}

    def __init__(self, *args, **kwargs):
        if type(self)._class == "Layer":
            raise NotImplementedError("kiln has no custom layers (subclasses of keras.layers.Layer); kiln's layers: %s" % ", ".join(_hello["layers"]))
        self._spec = _call("make", kind=self._kind, pos=list(args), kw=kwargs, **{"class": self._class})
        n = Layer._counts.get(self._class, 0)
        Layer._counts[self._class] = n + 1
        snake = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", self._class)).lower()  # Keras' to_snake_case
        self.name = kwargs.get("name") or (snake if n == 0 else "%s_%d" % (snake, n))

    def _kiln_json(self):
        return self._spec

    def __call__(self, inputs, training=None, **kwargs):
        if kwargs:
            raise TypeError("calling %s: kiln takes the input tensors only, got %s" % (self._class, ", ".join(kwargs)))
        ts = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not ts or not all(isinstance(t, KerasTensor) for t in ts):
            raise TypeError(
                "kiln's layers are called on keras.Input tensors and other layers' outputs to build a model "
                "(they compute nothing in Python: use model.predict), got %s" % type(inputs).__name__
            )
        if getattr(self, "_kiln_called", False):
            raise NotImplementedError("kiln has no shared layers: the layer %s is already applied; make a new layer for each call" % self.name)
        self._kiln_called = True
        return KerasTensor(None, layer=self, inputs=ts)

    def get_config(self):
        c = dict(self._spec.get("args") or {})
        c["name"] = self.name
        return c

    def __repr__(self):
        return "<keras.layers.%s name=%s>" % (self._class, self.name)


def _layer_class(name):
    return type(name, (Layer,), {"_class": name, "__module__": "keras.layers", "__doc__": "kiln's %s layer" % name})


def _conv2d_keras1(base):
    """Keras 1's Convolution2D(nb_filter, nb_row, nb_col, ...)."""

    class Convolution2D(base):
        def __init__(self, *args, **kwargs):
            if len(args) >= 3 and all(isinstance(v, (int, np.integer)) for v in args[:3]):
                args = (args[0], (int(args[1]), int(args[2]))) + tuple(args[3:])
            elif "nb_row" in kwargs or "nb_col" in kwargs:
                kwargs["kernel_size"] = (kwargs.pop("nb_row", 1), kwargs.pop("nb_col", 1))
            super().__init__(*args, **kwargs)

    Convolution2D._class = base._class
    Convolution2D.__module__ = "keras.layers"
    return Convolution2D


_tensors = itertools.count(1)
_input_names = itertools.count(1)


class KerasTensor(_StandIn):
    """What keras.Input and a layer called on one return: a node of the
    model's graph (kiln computes nothing here)."""

    def __init__(self, spec, name=None, layer=None, inputs=None):
        self._spec = spec
        self._layer = layer
        self._inputs = list(inputs or [])
        self._n = next(_tensors)
        if layer is None:
            self.shape = (None,) + tuple(spec["input"])
            self.name = name or "input_%d" % next(_input_names)
            self._source = self.name
        else:
            self.shape = None
            self.name = layer.name
            self._source = layer.name

    def _kiln_json(self):
        if self._layer is not None:
            raise TypeError("kiln's Sequential models take layers: pass the layer itself, not its output tensor")
        return self._spec

    def __repr__(self):
        return "<KerasTensor shape=%s, name=%s>" % (self.shape, self.name)


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, batch_shape=None, **kwargs):
    """keras.Input(shape=...)."""
    kw = dict(kwargs)
    for k, v in (("shape", shape), ("batch_shape", batch_shape), ("dtype", dtype), ("sparse", sparse)):
        if v is not None:
            kw[k] = v
    return KerasTensor(_call("make", kind="input", pos=[], kw=kw, **{"class": "Input"}), name)


class InputLayer(Layer):
    """keras.layers.InputLayer(input_shape=...)."""

    _kind = "input"
    _class = "InputLayer"


# ---------------------------------------------------------------- optimizers, losses, callbacks


class Optimizer(_StandIn):
    _class = "Optimizer"

    def __init__(self, *args, **kwargs):
        if type(self)._class == "Optimizer":
            raise NotImplementedError("kiln has no custom optimizers; kiln's optimizers: SGD, Adam, RMSprop, Adagrad")
        self._spec = _call("make", kind="optimizer", pos=list(args), kw=kwargs, **{"class": self._class})

    def _kiln_json(self):
        return self._spec

    @property
    def learning_rate(self):
        return self._spec["args"].get("learning_rate")

    lr = learning_rate

    def get_config(self):
        c = dict(self._spec["args"])
        c["name"] = self._class
        return c

    def __repr__(self):
        return "<keras.optimizers.%s>" % self._class


class Loss(_StandIn):
    _class = "Loss"

    def __init__(self, *args, **kwargs):
        if type(self)._class == "Loss":
            raise NotImplementedError("kiln has no custom losses; kiln's losses: %s" % ", ".join(_hello["losses"]))
        self._spec = _call("make", kind="loss", pos=list(args), kw=kwargs, **{"class": self._class})

    def _kiln_json(self):
        return self._spec

    def __call__(self, *a, **k):
        raise NotImplementedError("keras.losses.%s is kiln's loss for model.compile; kiln's stand-in does not compute it in Python" % self._class)

    def __repr__(self):
        return "<keras.losses.%s>" % self._class


class Callback:
    """Base of the program's own callbacks: kiln calls their on_train_begin,
    on_epoch_begin, on_epoch_end, on_train_end (and on_train_batch_end /
    on_batch_end when defined) during its training."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class LambdaCallback(Callback):
    """keras.callbacks.LambdaCallback."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None, on_batch_begin=None, on_batch_end=None, **kwargs):
        super().__init__()
        for k in kwargs:
            raise TypeError("LambdaCallback() got an unexpected keyword argument '%s'" % k)
        for name, fn in (
            ("on_epoch_begin", on_epoch_begin),
            ("on_epoch_end", on_epoch_end),
            ("on_train_begin", on_train_begin),
            ("on_train_end", on_train_end),
            ("on_batch_begin", on_batch_begin),
            ("on_batch_end", on_batch_end),
        ):
            if fn is not None:
                setattr(self, name, fn)


def _overrides_batch(cb):
    for m in ("on_batch_end", "on_train_batch_end"):
        if getattr(type(cb), m, None) is not getattr(Callback, m) or m in vars(cb):
            return True
    return False


class _KilnCallback(_StandIn):
    """A callback kiln has built in (EarlyStopping, ModelCheckpoint,
    CSVLogger): it runs in kiln."""

    _class = "Callback"

    def __init__(self, *args, **kwargs):
        self._spec = _call("make", kind="callback", pos=list(args), kw=kwargs, **{"class": self._class})

    def _kiln_json(self):
        return self._spec

    def __repr__(self):
        return "<keras.callbacks.%s>" % self._class


def _event(msg):
    """Runs the program's callbacks for one of kiln's training events."""
    ev = msg["event"]
    cbs = [_pycallbacks[i] for i in msg["callbacks"]]
    model = _fitting[-1] if _fitting else None
    stop = False
    try:
        raw = msg.get("logs") or {}
        logs = dict(zip(raw.get("names", []), _floats(raw.get("values", []))))
        for cb in cbs:
            if ev == "train_begin":
                cb.set_params(msg.get("params") or {})
                cb.on_train_begin({})
            elif ev == "epoch_begin":
                cb.on_epoch_begin(msg["epoch"], {})
            elif ev == "batch_end":
                cb.on_train_batch_end(msg["batch"], dict(logs))
            elif ev == "epoch_end":
                cb.on_epoch_end(msg["epoch"], dict(logs))
            elif ev == "train_end":
                cb.on_train_end(dict(logs))
        stop = bool(model is not None and model.stop_training)
    except BaseException as e:  # raised again when fit returns
        _pending.append(e)
        stop = True
    _chan.send({"op": "event_done", "args": {"stop": stop}})


# ---------------------------------------------------------------- models


class History(Callback):
    """What model.fit returns: history (dict of per-epoch lists), epoch,
    params, model."""

    def __init__(self, h=None, model=None):
        super().__init__()
        h = h or {}
        self.history = {k: _floats(h.get("history", {}).get(k) or []) for k in h.get("keys", [])}
        self.epoch = list(h.get("epoch") or [])
        self.params = dict(h.get("params") or {})
        self.model = model

    def __repr__(self):
        return "<keras.callbacks.History>"


class Model(_StandIn):
    """keras.Model(inputs, outputs): a model of layers applied to a
    keras.Input (the functional API), one input and one output. Its layers
    are kept here; kiln builds, trains, evaluates and predicts."""

    _ids = itertools.count(1)

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        self._setup(name or "model")
        if type(self) is not Model:
            raise NotImplementedError("subclassed models (class %s(keras.Model)) are not in kiln: build a keras.Sequential model, or keras.Model(inputs, outputs)" % type(self).__name__)
        for k in kwargs:
            if k != "trainable":
                raise TypeError("Model() got an unexpected keyword argument '%s'" % k)
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(ins) != 1 or len(outs) != 1:
            raise NotImplementedError("kiln's models have one input and one output; got %d inputs and %d outputs" % (len(ins), len(outs)))
        inp, out = ins[0], outs[0]
        if not isinstance(inp, KerasTensor) or inp._layer is not None:
            raise TypeError("Model(inputs=...): give the keras.Input the model starts from, got %r" % (inp,))
        if not isinstance(out, KerasTensor):
            raise TypeError("Model(outputs=...): give the output of the last layer call, got %r" % (out,))
        nodes, stack = {}, [out]
        while stack:
            t = stack.pop()
            if t._n not in nodes:
                nodes[t._n] = t
                stack.extend(t._inputs)
        for t in nodes.values():
            if t._layer is None and t is not inp:
                raise ValueError("Graph disconnected: the outputs depend on the Input %s, which is not the model's input %s" % (t.name, inp.name))
        if inp._n not in nodes:
            raise ValueError("Graph disconnected: the outputs do not depend on the model's input %s" % inp.name)
        items = []
        for t in sorted(nodes.values(), key=lambda t: t._n):
            if t._layer is None:
                spec = dict(t._spec)
                spec["args"] = {"name": t.name}
            else:
                spec = dict(t._layer._spec)
                args = dict(spec.get("args") or {})
                args["name"] = t._layer.name
                names = [x._source for x in t._inputs]
                args["inputs"] = names if len(names) > 1 else names[0]
                spec["args"] = args
                spec["input"] = None
                self._layers.append(t._layer)
            items.append(spec)
        self._graph = items

    def _setup(self, name):
        self._id = next(Model._ids)
        self._gen = 0
        self._items = []
        self._layers = []
        self._graph = None
        self._compile = None
        self.name = name
        self.stop_training = False
        self.history = None
        self.optimizer = None
        self.loss = None

    def add(self, layer):
        raise NotImplementedError("model.add is for keras.Sequential models; a keras.Model(inputs, outputs) has its layers from the calls")


    @property
    def layers(self):
        if self._graph is not None:
            return list(self._layers)
        return [x for x in self._items if isinstance(x, Layer) and x._class != "InputLayer"]

    def get_layer(self, name=None, index=None):
        ls = self.layers
        if index is not None:
            return ls[index]
        for x in ls:
            if x.name == name:
                return x
        raise ValueError("No such layer: %s. Existing layers are: %s." % (name, [x.name for x in ls]))

    def _spec(self):
        layers = self._graph if self._graph is not None else [x._spec for x in self._items]
        return {"id": self._id, "gen": self._gen, "layers": layers, "compile": self._compile}

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None, run_eagerly=None, steps_per_execution=None, jit_compile=None, **kwargs):
        for k in kwargs:
            if k == "sample_weight_mode":
                raise ValueError("compile(sample_weight_mode=...): Keras 2's temporal sample weights are not in kiln")
            raise TypeError("compile() got an unexpected keyword argument '%s' (kiln takes optimizer, loss, metrics)" % k)
        if isinstance(metrics, str):
            metrics = [metrics]
        self._compile = _call("compile", optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights, weighted_metrics=weighted_metrics)
        self._gen += 1
        self.optimizer = optimizer
        self.loss = loss

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
        max_queue_size=10,
        workers=1,
        use_multiprocessing=False,
        **kwargs
    ):
        if "nb_epoch" in kwargs:  # Keras 1
            epochs = kwargs.pop("nb_epoch")
        for k in kwargs:
            if k == "show_accuracy":
                raise TypeError("fit(show_accuracy=...) is Keras 0.x: give compile(metrics=['accuracy']) instead")
            raise TypeError("fit() got an unexpected keyword argument '%s'" % k)
        if sample_weight is not None:
            raise ValueError("fit(sample_weight=...) is not in kiln's host mode yet; class_weight= is")
        for k, v, ok in (("steps_per_epoch", steps_per_epoch, None), ("validation_steps", validation_steps, None), ("validation_freq", validation_freq, 1)):
            if v != ok:
                raise ValueError("fit(%s=%r): kiln trains on all of the arrays every epoch; remove it" % (k, v))
        if y is None:
            raise ValueError(
                "fit(x, y): kiln trains on arrays x and y (numpy or pandas); generators, tf.data datasets and "
                "keras.utils.Sequence are not in kiln, got x=%s and no y" % type(x).__name__
            )
        args = {"model": self._spec(), "x": _array(x, "x"), "y": _array(y, "y")}
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit(validation_data=...): give a tuple (x_val, y_val) (kiln has no validation sample weights)")
            args["val_x"] = _array(validation_data[0], "val_x")
            args["val_y"] = _array(validation_data[1], "val_y")
        if class_weight is not None and not isinstance(class_weight, str):
            class_weight = {str(int(k)): float(v) for k, v in dict(class_weight).items()}
        pcs = []
        batch = False
        builtin = []
        for cb in callbacks or []:
            if isinstance(cb, _KilnCallback):
                builtin.append(cb._spec)
            elif isinstance(cb, Callback):
                cb.set_model(self)
                _pycallbacks[id(cb)] = cb
                pcs.append(id(cb))
                batch = batch or _overrides_batch(cb)
            else:
                raise TypeError("fit(callbacks=...): expected keras.callbacks objects, got %r" % (cb,))
        if verbose == "auto":
            verbose = 1
        elif isinstance(verbose, bool):
            verbose = int(verbose)
        args.update(
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            shuffle=shuffle,
            validation_split=validation_split,
            class_weight=class_weight,
            initial_epoch=initial_epoch,
            validation_batch_size=validation_batch_size,
            callbacks=builtin,
            py_callbacks=pcs,
            py_batch=batch,
            tty=_isatty(),
            seed=_seed,
        )
        self.stop_training = False
        _fitting.append(self)
        try:
            h = _call("fit", **args)
        finally:
            _fitting.pop()
            for i in pcs:
                _pycallbacks.pop(i, None)
        if _pending:
            e = _pending.pop()
            del _pending[:]
            raise e
        self.history = History(h, self)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None, return_dict=False, **kwargs):
        for k in kwargs:
            if k == "show_accuracy":
                raise TypeError("evaluate(show_accuracy=...) is Keras 0.x: give compile(metrics=['accuracy']) instead")
            raise TypeError("evaluate() got an unexpected keyword argument '%s'" % k)
        if sample_weight is not None or steps is not None:
            raise ValueError("evaluate(%s=...): not in kiln's host mode" % ("sample_weight" if sample_weight is not None else "steps"))
        if y is None:
            raise ValueError("evaluate(x, y): kiln evaluates arrays x and y")
        if verbose == "auto":
            verbose = 1
        r = _call("evaluate", model=self._spec(), x=_array(x, "x"), y=_array(y, "y"), batch_size=batch_size, verbose=verbose, tty=_isatty(), seed=_seed)
        values = _floats(r["values"])
        if return_dict:
            return dict(zip(r["names"], values))
        if len(values) == 1:
            return values[0]
        return values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        if steps is not None:
            raise ValueError("predict(steps=...): kiln predicts for all of x; remove it")
        p = _call("predict", model=self._spec(), x=_array(x, "x"), batch_size=batch_size, seed=_seed)
        return np.load(p["path"])

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's Sequential.predict_proba (removed in TensorFlow 2.6): predict."""
        _note("predict_proba", "model.predict_proba is Keras 2's (removed in TensorFlow 2.6); kiln runs it as Keras 2 did: model.predict")
        return self.predict(x, batch_size=batch_size)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2's Sequential.predict_classes (removed in TensorFlow 2.6)."""
        _note(
            "predict_classes",
            "model.predict_classes is Keras 2's (removed in TensorFlow 2.6); kiln runs it as Keras 2 did: "
            "np.argmax(model.predict(x), axis=-1), or (model.predict(x) > 0.5).astype('int32') for one output unit",
        )
        p = self.predict(x, batch_size=batch_size)
        if p.shape[-1] > 1:
            return p.argmax(axis=-1)
        return (p > 0.5).astype("int32")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False, layer_range=None):
        text = _call("summary", model=self._spec(), seed=_seed)
        if print_fn is not None:
            for line in text.rstrip("\n").split("\n"):
                print_fn(line)
        else:
            print(text, end="" if text.endswith("\n") else "\n")

    def count_params(self):
        return _call("count_params", model=self._spec(), seed=_seed)

    def __repr__(self):
        return "<%s name=%s, built=%s>" % (type(self).__name__, self.name, self._compile is not None)


class Sequential(Model):
    """keras.Sequential: its layers are kept here; kiln builds, trains,
    evaluates and predicts."""

    def __init__(self, layers=None, name=None, **kwargs):
        for k in kwargs:
            if k not in ("trainable",):
                raise TypeError("Sequential() got an unexpected keyword argument '%s'" % k)
        self._setup(name or "sequential")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, Model):
            raise NotImplementedError("kiln's Sequential models hold layers, not other models; add the layers of %r one by one" % layer)
        if not isinstance(layer, (Layer, KerasTensor)):
            raise TypeError("The added layer must be an instance of class Layer. Received: layer=%r of type %s." % (layer, type(layer)))
        self._items.append(layer)
        self._gen += 1

    def pop(self):
        if not self._items:
            raise TypeError("There are no layers in the model.")
        self._items.pop()
        self._gen += 1


def _isatty():
    try:
        return sys.stdout.isatty()
    except Exception:
        return False


# ---------------------------------------------------------------- utilities


def to_categorical(y, num_classes=None, dtype="float32"):
    """keras.utils.to_categorical, as Keras computes it."""
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        num_classes = np.max(y) + 1
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """keras.utils.normalize: x divided by its L-order norm along axis."""
    x = np.asarray(x)
    l2 = np.atleast_1d(np.linalg.norm(x, order, axis))
    l2[l2 == 0] = 1
    return x / np.expand_dims(l2, axis)


def set_seed(seed):
    """tf.random.set_seed: kiln seeds its training with it."""
    global _seed
    _seed = int(seed)


def set_random_seed(seed):
    """keras.utils.set_random_seed: seeds Python's random, numpy, and kiln's
    training."""
    import random

    random.seed(seed)
    _np_seed(seed)
    set_seed(seed)


_np_seed_orig = np.random.seed


def _np_seed(seed=None):
    global _seed
    _np_seed_orig(seed)
    if isinstance(seed, (int, np.integer)):
        _seed = int(seed)


def patch_numpy():
    """np.random.seed(n) also seeds kiln's training, as in kiln's reader."""
    np.random.seed = _np_seed


def load_mnist(path="mnist.npz"):
    """keras.datasets.mnist.load_data(): kiln's built-in MNIST."""
    xa, ya, xb, yb = (np.load(p) for p in _call("mnist"))
    return (xa, ya), (xb, yb)


def clear_session(*a, **k):
    """keras.backend.clear_session: nothing to clear in kiln."""


def floatx():
    return "float32"


def set_floatx(value):
    if value != "float32":
        raise ValueError("kiln computes in float32; set_floatx(%r) is not in kiln" % (value,))


def image_data_format():
    return "channels_last"


def set_image_data_format(value):
    if value != "channels_last":
        raise ValueError("kiln's images are channels_last (height, width, channels); set_image_data_format(%r) is not in kiln" % (value,))


def epsilon():
    return 1e-7


def _list_devices(device_type=None):
    if device_type in (None, "CPU"):
        return ["/physical_device:CPU:0"]
    return []


# ---------------------------------------------------------------- module tree


def _build():
    layer_classes = {}
    for c in _hello["layers"]:
        layer_classes[c] = _layer_class(c)
    lay = dict(layer_classes)
    lay.update(Layer=Layer, Input=Input, InputLayer=InputLayer)
    if "Conv2D" in lay:
        lay["Convolution2D"] = _conv2d_keras1(layer_classes["Conv2D"])
    for old, new in (("MaxPool2D", "MaxPooling2D"), ("AvgPool2D", "AveragePooling2D"), ("GlobalAvgPool2D", "GlobalAveragePooling2D"), ("GlobalMaxPool2D", "GlobalMaxPooling2D")):
        if new in lay:
            lay[old] = lay[new]
    layers = _module("keras.layers", lay)
    for sub in ("core", "convolutional", "pooling", "normalization", "advanced_activations", "merge", "noise", "regularization", "reshaping", "activation"):
        # Keras 2's submodules (from keras.layers.core import Dense).
        _module("keras.layers." + sub, lay)

    opt = {"Optimizer": Optimizer}
    names = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
    for n in _hello["optimizers"]:
        cls = names.get(n, n)
        opt[cls] = type(cls, (Optimizer,), {"_class": cls, "__module__": "keras.optimizers"})
    optimizers = _module("keras.optimizers", opt)
    _module("keras.optimizers.legacy", opt)

    los = {"Loss": Loss}
    for cls in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError"):
        los[cls] = type(cls, (Loss,), {"_class": cls, "__module__": "keras.losses"})
    for n in _hello["losses"]:
        los[n] = _Named("keras.losses", n, "loss")
    los["mse"] = _Named("keras.losses", "mse", "loss")
    losses = _module("keras.losses", los)

    mets = {n: _Named("keras.metrics", n, "metric") for n in _hello["metrics"]}
    metrics = _module("keras.metrics", mets)

    cbs = {"Callback": Callback, "LambdaCallback": LambdaCallback, "History": History}
    for c in _hello["callbacks"]:
        cbs[c] = type(c, (_KilnCallback,), {"_class": c, "__module__": "keras.callbacks"})
    callbacks = _module("keras.callbacks", cbs)

    acts = {n: _Named("keras.activations", n, "activation") for n in _hello["activations"]}
    activations = _module("keras.activations", acts)

    np_utils = _module("keras.utils.np_utils", {"to_categorical": to_categorical, "normalize": normalize})
    utils = _module("keras.utils", {"to_categorical": to_categorical, "normalize": normalize, "set_random_seed": set_random_seed, "np_utils": np_utils})
    mnist = _module("keras.datasets.mnist", {"load_data": load_mnist})
    datasets = _module("keras.datasets", {"mnist": mnist})
    models = _module("keras.models", {"Sequential": Sequential, "Model": Model})
    backend = _module(
        "keras.backend",
        {
            "clear_session": clear_session,
            "floatx": floatx,
            "set_floatx": set_floatx,
            "image_data_format": image_data_format,
            "set_image_data_format": set_image_data_format,
            "epsilon": epsilon,
        },
    )
    keras = _module(
        "keras",
        {
            "layers": layers,
            "optimizers": optimizers,
            "losses": losses,
            "metrics": metrics,
            "callbacks": callbacks,
            "activations": activations,
            "utils": utils,
            "datasets": datasets,
            "models": models,
            "backend": backend,
            "Sequential": Sequential,
            "Model": Model,
            "Input": Input,
            "__version__": "2.15.0",
        },
        "kiln's stand-in for keras (host mode): models train in kiln",
    )
    keras.__path__ = []  # a package, so that `import keras.layers` finds the registered submodules

    nn = _module("tensorflow.nn", {n: _Named("tf.nn", n, "activation") for n in _hello["activations"]})
    rnd = _module("tensorflow.random", {"set_seed": set_seed})
    config = _module("tensorflow.config", {"list_physical_devices": _list_devices})
    tf = _module(
        "tensorflow",
        {
            "keras": keras,
            "nn": nn,
            "random": rnd,
            "config": config,
            "float32": np.float32,
            "float64": np.float64,
            "int32": np.int32,
            "int64": np.int64,
            "__version__": "2.15.0",
        },
        "kiln's stand-in for tensorflow (host mode): tf.keras models train in kiln",
    )
    tf.__path__ = []
    for name in list(modules):
        if name.startswith("keras"):
            modules["tensorflow." + name] = modules[name]
            sys.modules["tensorflow." + name] = modules[name]
    # Keras 2.x's tf.python.keras spelling.
    sys.modules["tensorflow.python"] = _module("tensorflow.python", {"keras": keras})
    for name in list(modules):
        if name.startswith("keras"):
            sys.modules["tensorflow.python." + name] = modules[name]


class _Finder:
    """Refuses submodules of keras and tensorflow kiln does not have, by
    name, with kiln's nearest equivalent."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top not in ("keras", "tensorflow") or "." not in fullname or fullname in sys.modules:
            return None
        last = fullname.split(".")[-1]
        parent = fullname.rsplit(".", 1)[0]
        subs = sorted(n[len(parent) + 1 :] for n in sys.modules if n.startswith(parent + ".") and "." not in n[len(parent) + 1 :])
        raise ModuleNotFoundError(_missing(parent, last, subs, "module"), name=fullname)


_build()
sys.meta_path.insert(0, _Finder())


# ---------------------------------------------------------------- program errors


def _keep(frame):
    f = os.path.abspath(frame.filename)
    if f.startswith(_MODS + os.sep):
        return False
    return not (os.path.basename(f) == "runpy.py" or frame.filename.startswith("<frozen runpy"))


def _filter(te):
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if _keep(f)])
    for c in (te.__cause__, te.__context__):
        if c is not None:
            _filter(c)


_HINTS = {
    "pandas": "python3-pandas",
    "sklearn": "python3-sklearn",
    "matplotlib": "python3-matplotlib",
    "scipy": "python3-scipy",
    "seaborn": "python3-seaborn",
}


def report(e):
    """Prints the program's traceback (its own frames, as Python would with
    Keras installed) and tells kiln where it failed."""
    te = traceback.TracebackException(type(e), e, e.__traceback__)
    _filter(te)
    text = "".join(te.format())
    msg = str(e)
    if isinstance(e, ModuleNotFoundError) and e.name and e.name.split(".")[0] in _HINTS:
        top = e.name.split(".")[0]
        hint = "kiln: %s is not installed for %s: apt-get install %s, or %s -m pip install %s\n" % (
            top,
            sys.executable,
            _HINTS[top],
            sys.executable,
            {"sklearn": "scikit-learn"}.get(top, top),
        )
        text += hint
    sys.stderr.write(text)
    sys.stderr.flush()
    file, line = "", 0
    if isinstance(e, SyntaxError) and e.filename:
        file, line = e.filename, e.lineno or 0
    frames = list(te.stack)
    user = [f for f in frames if os.path.abspath(f.filename) == _PROGRAM]
    if user:
        file, line = user[-1].filename, user[-1].lineno
    elif frames and not file:
        file, line = frames[-1].filename, frames[-1].lineno
    if _SHOWN and file and os.path.abspath(file) == _PROGRAM:
        file = _SHOWN
    try:
        _chan.send({"op": "failed", "args": {"file": file, "line": line, "type": type(e).__name__, "message": msg, "traceback": text}})
        _chan.recv()
    except Exception:
        pass

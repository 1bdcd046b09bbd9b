# A Keras 2-era post: keras.layers.core, np_utils, output_dim=, init=, lr=,
# nb_epoch=, predict_classes.
import numpy
import pandas
from keras.models import Sequential
from keras.layers.core import Dense, Activation
from keras.optimizers import SGD
from keras.utils import np_utils

numpy.random.seed(7)

dataframe = pandas.read_csv("blobs.csv", header=0)
dataset = dataframe.values
X = dataset[:, 0:2].astype(float)
Y = dataset[:, 2]
dummy_y = np_utils.to_categorical(Y)

model = Sequential()
model.add(Dense(output_dim=8, input_dim=2, init="glorot_uniform"))
model.add(Activation("relu"))
model.add(Dense(3))
model.add(Activation("softmax"))
sgd = SGD(lr=0.1, decay=0.0, momentum=0.5)
model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
model.fit(X, dummy_y, nb_epoch=4, batch_size=10, verbose=0)
classes = model.predict_classes(X[:10])
print("predicted classes:", classes)

# kernel_initializer on Dense: kiln has Keras' named initializers (he_uniform,
# glorot_normal, ...) but not orthogonal, which is refused by name.
from keras.models import Sequential
from keras.layers import Dense, Flatten

model = Sequential()
model.add(Flatten(input_shape=(28, 28)))
model.add(Dense(100, activation='relu', kernel_initializer='orthogonal'))
model.add(Dense(10, activation='softmax'))

# kernel_initializer on Dense: kiln's Dense initialises as Keras' default
# (glorot_uniform) and has no other initializers.
from keras.models import Sequential
from keras.layers import Dense, Flatten

model = Sequential()
model.add(Flatten(input_shape=(28, 28)))
model.add(Dense(100, activation='relu', kernel_initializer='he_uniform'))
model.add(Dense(10, activation='softmax'))

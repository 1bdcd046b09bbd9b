# String labels through LabelEncoder, features through StandardScaler
# (fitted on the training rows only), a sigmoid output.
import pandas as pd
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.model_selection import train_test_split
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
import tensorflow as tf

tf.random.set_seed(5)

df = pd.read_csv("xor.csv")
encoder = LabelEncoder()
y = encoder.fit_transform(df["answer"])
print("classes:", list(encoder.classes_))
X = df[["a", "b", "noise"]]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_val = scaler.transform(X_val)

model = Sequential([
    Dense(16, activation="relu", input_shape=(3,)),
    Dropout(0.1),
    Dense(8, activation="relu"),
    Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=8, batch_size=16, validation_data=(X_val, y_val), verbose=2)
pred = (model.predict(X_val) > 0.5).astype(int).ravel()
print("validation accuracy from predict:", (pred == y_val).mean())

# Kaggle "Digit Recognizer": the data comes from CSV files through pandas.
import pandas as pd
import numpy as np
from tensorflow import keras

train = pd.read_csv('train.csv')
y_train = train['label'].values
x_train = train.drop('label', axis=1).values / 255.0

# Regenerates the NumPy fixtures in this directory (the tests do not run it):
#   cd data/testdata && python3 gen.py
# Written with NumPy 1.24; the tests check the values listed here.
import numpy as np

def save(name, a, version=None):
    with open(name, "wb") as f:
        np.lib.format.write_array(f, a, version=version, allow_pickle=True)

save("u1.npy", np.array([[0, 1, 2], [253, 254, 255]], dtype="u1"))
save("b1.npy", np.array([True, False, True, True, False, False]))
save("i1.npy", np.array([-128, -1, 0, 1, 127], dtype="i1"))
for order in "<>":
    save("i2%s.npy" % ("le" if order == "<" else "be"), np.array([-32768, -1, 0, 1, 32767], dtype=order + "i2"))
    save("u2%s.npy" % ("le" if order == "<" else "be"), np.array([0, 1, 65535], dtype=order + "u2"))
    save("i4%s.npy" % ("le" if order == "<" else "be"), np.array([[-2147483648, -1, 0], [1, 2, 2147483647]], dtype=order + "i4"))
    save("u4%s.npy" % ("le" if order == "<" else "be"), np.array([0, 1, 4294967295], dtype=order + "u4"))
    save("i8%s.npy" % ("le" if order == "<" else "be"), np.array([-9223372036854775808, -1, 0, 9223372036854775807], dtype=order + "i8"))
    save("u8%s.npy" % ("le" if order == "<" else "be"), np.array([0, 1, 9223372036854775807], dtype=order + "u8"))
    save("f4%s.npy" % ("le" if order == "<" else "be"), np.array([[-1.5, 0, 0.25], [3.5, 1e30, -1e-30]], dtype=order + "f4"))
    save("f8%s.npy" % ("le" if order == "<" else "be"), np.array([-1.5, 0, 0.1, 1e300], dtype=order + "f8"))
save("u8big.npy", np.array([0, 18446744073709551615], dtype="u8"))
save("scalar.npy", np.float64(2.5) * np.ones(()))
save("empty.npy", np.zeros((0, 3), dtype="f4"))
save("v2.npy", np.arange(6, dtype="<f4").reshape(2, 3), version=(2, 0))
save("v3.npy", np.arange(6, dtype="<f4").reshape(2, 3), version=(3, 0))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype="f4").reshape(2, 3)))
save("object.npy", np.array([1, "a", None], dtype=object))
save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
save("complex.npy", np.zeros(2, dtype="c16"))
save("f2.npy", np.zeros(2, dtype="f2"))
save("unicode.npy", np.array(["ab", "c"]))

x_train = np.arange(2 * 3 * 3, dtype="u1").reshape(2, 3, 3)
y_train = np.array([5, 0], dtype="u1")
x_test = np.arange(9, dtype="u1").reshape(1, 3, 3) + 100
y_test = np.array([7], dtype="i8")
np.savez("stored.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
np.savez_compressed("deflated.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

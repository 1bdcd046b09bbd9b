package pysrc_test

import (
	"fmt"

	"github.com/kiln-ml/kiln/pysrc"
)

func ExampleParse() {
	src := `(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32") / 255
model.fit(x_train, y_train, epochs=10)
print(f"Test accuracy: {score[1]:.4f}")
`
	m, err := pysrc.Parse("prog.py", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(pysrc.Dump(m))
	// Output:
	// (module
	//   (= (tuple (tuple x_train y_train) (tuple x_test y_test)) (call (. (. (. keras datasets) mnist) load_data)))
	//   (= x_train (/ (call (. x_train astype) "float32") 255))
	//   (expr (call (. model fit) x_train y_train (kw epochs 10)))
	//   (expr (call print (f "Test accuracy: " (fmt (index score 1) (f ".4f"))))))
}

func ExampleParse_refused() {
	_, err := pysrc.Parse("prog.py", []byte("import asyncio\n\nasync def main():\n    pass\n"))
	fmt.Println(err)
	// Output:
	// pysrc: prog.py:3:1: `async def` is not supported; kiln runs plain scripts: rewrite it or run the program with --python
}

func ExampleInspect() {
	m, _ := pysrc.Parse("prog.py", []byte("model.add(Dense(10, activation='relu'))\n"))
	pysrc.Inspect(m, func(n pysrc.Node) bool {
		if c, ok := n.(*pysrc.Call); ok {
			if name, ok := c.Func.(*pysrc.Name); ok {
				fmt.Printf("%s: call of %s with %d keyword(s)\n", c.Pos(), name.ID, len(c.Keywords))
			}
		}
		return true
	})
	// Output:
	// 1:11: call of Dense with 1 keyword(s)
}

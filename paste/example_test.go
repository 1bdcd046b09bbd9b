package paste_test

import (
	"fmt"
	"strings"

	"github.com/kiln-ml/kiln/paste"
)

func ExampleSplit() {
	text := `My model:
model.compile(
optimizer='sgd',
loss='mse'
)
With lr 0.01 I get:
Epoch 1/2
10/10 [==============================] - 0s 1ms/step - loss: 0.5012
Epoch 2/2
10/10 [==============================] - 0s 1ms/step - loss: 0.4471
Why so slow?
`
	q, err := paste.Split("question.txt", []byte(text))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The code keeps its line numbers: prose and logs become blank lines.
	for i, l := range strings.Split(string(q.Source), "\n") {
		if l != "" {
			fmt.Printf("%d: %s\n", i+1, l)
		}
	}
	fmt.Println(q.Position(3, 1))
	for _, r := range q.Runs {
		fmt.Printf("%q\n", r.Caption)
		for _, e := range r.Epochs {
			fmt.Println(e.Epoch, e.Metrics[0].Name, e.Metrics[0].Text)
		}
	}
	// Output:
	// 2: model.compile(
	// 3: optimizer='sgd',
	// 4: loss='mse'
	// 5: )
	// question.txt:3:1
	// "With lr 0.01 I get:"
	// 1 loss 0.5012
	// 2 loss 0.4471
}

package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jobgate/jobgate/client"
)

// Invoke the sample trigger "add" of a server started with `jobgate serve --dev` and wait for
// its output with LongPolling. (The test's server runs on a free port: env.exampleURL.)
func ExampleClient_Invoke() {
	token := mint("default", "default") // e.g. from `jobgate token` or your identity provider
	c := client.New(env.exampleURL, client.WithToken(token))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.Invoke(ctx, client.Tenant{Org: "default", Name: "default"}, "add",
		map[string]any{"x": 2, "y": 3}, client.LongPolling)
	if err != nil {
		fmt.Println("failed:", err) // a *client.JobError, *client.ProblemError, or the context's end
		return
	}
	var sum struct{ Sum, Diff, Product int }
	if err := json.Unmarshal(out, &sum); err != nil {
		fmt.Println("unexpected output:", err)
		return
	}
	fmt.Printf("sum %d, diff %d, product %d\n", sum.Sum, sum.Diff, sum.Product)
	// Output: sum 5, diff -1, product 6
}

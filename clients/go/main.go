// Command go is the Go client example: it calls a trigger with the client package, which
// follows every call mode (polling, 302/303 redirects, LongPolling hops past any redirect cap)
// and sends the token to the server's own origin only.
//
// Run: go run ./clients/go
// Environment: BASE_URL, ORG, TENANT, SLUG, TOKEN, ARGS (a JSON object).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/jobgate/jobgate/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var args map[string]any
	if err := json.Unmarshal([]byte(os.Getenv("ARGS")), &args); err != nil {
		return fmt.Errorf("ARGS: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()

	c := client.New(os.Getenv("BASE_URL"), client.WithToken(os.Getenv("TOKEN")))
	out, err := c.Invoke(ctx, client.Tenant{Org: os.Getenv("ORG"), Name: os.Getenv("TENANT")},
		os.Getenv("SLUG"), args, client.LongPolling)
	var failed *client.JobError
	if errors.As(err, &failed) {
		return fmt.Errorf("job %s ended %s: %s", failed.JobKey, failed.State, failed.Info)
	}
	if err != nil {
		return err // a *client.ProblemError (400, 401, 404 …), or the context's end
	}
	fmt.Println(string(out))
	return nil
}

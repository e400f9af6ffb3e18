package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// exampleConfig is the sample config docker-compose.yml mounts and configuration.md shows.
const exampleConfig = "../../examples/jobgate.yaml"

// The example config must load and serve what the README promises for `docker compose up`,
// so it cannot rot as the config format changes.
func TestExampleConfig_LoadsAndServesItsTriggers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--config", exampleConfig)
	tok := tokenFor(t, "acme", "prod")
	base := s.URL + "/acme/prod/orchestrator_/t/"

	// add merges its own y: 1 under the call's x, and answers 202 with a capability URL.
	r := do(t, noFollow, "POST", base+"add", tok, map[string]any{"x": 2})
	wantStatus(t, r, http.StatusAccepted)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "?cap=") {
		t.Errorf("Location %q has no capability (requireAuthOnRedirects: false)", loc)
	}
	out := do(t, follow, "GET", r.Header.Get("Location"), "", nil)
	wantStatus(t, out, http.StatusOK)
	if sum := out.json(t)["sum"]; sum != 3.0 {
		t.Errorf("add {x: 2} with the trigger's y: 1 gave sum %v, want 3", sum)
	}

	got := do(t, noFollow, "GET", base+"add-query?x=2&y=3", tok, nil)
	wantStatus(t, got, http.StatusOK)
	if sum := got.json(t)["sum"]; sum != 5.0 {
		t.Errorf("add-query sum %v, want 5", sum)
	}
	nap := do(t, follow, "PUT", base+"nap", tok, map[string]any{"seconds": 0, "$callMode": "LongPolling"})
	wantStatus(t, nap, http.StatusOK)
	wantProblem(t, do(t, noFollow, "POST", base+"old-add", tok, map[string]any{"x": 2}), http.StatusConflict)
}

// configuration.md shows the example config in full; the two must not drift apart.
func TestExampleConfig_IsTheOneConfigurationMdShows(t *testing.T) {
	t.Parallel()
	file, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(file)+"```\n") {
		t.Errorf("docs/configuration.md, \"The config file\", no longer shows examples/jobgate.yaml as it is: copy the file into its yaml block")
	}
}

package redistest_test

import (
	"strings"
	"testing"

	"github.com/jobgate/jobgate/internal/redistest"
)

func TestStart_AnswersAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if out, err := s.CLI("SET", "k", "v"); err != nil || out != "OK" {
		t.Fatalf("SET = %q, %v", out, err)
	}
	s.Stop()
	if _, err := s.CLI("PING"); err == nil {
		out, _ := s.CLI("PING")
		if strings.Contains(out, "PONG") {
			t.Fatal("server still answers after Stop")
		}
	}
	s.Restart()
	if out, _ := s.CLI("GET", "k"); out != "v" {
		t.Fatalf("after restart GET k = %q, want v (append-only file)", out)
	}
}

func TestStartCluster_IsOK(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	info, err := c.Nodes[1].CLI("cluster", "info")
	if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
		t.Fatalf("cluster info = %s, %v", info, err)
	}
}

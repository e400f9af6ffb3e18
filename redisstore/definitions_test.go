package redisstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/internal/redistest"
	"github.com/jobgate/jobgate/jobs/jobstest"
	"github.com/jobgate/jobgate/redisstore"
	"github.com/jobgate/jobgate/trigger"
	"github.com/jobgate/jobgate/trigger/triggertest"
)

func TestDefinitionsConformance(t *testing.T) {
	srv := redistest.Start(t)
	triggertest.Run(t, func(t *testing.T) trigger.Definitions {
		return newStore(t, srv, jobstest.Options{})
	})
}

// TestDefinitionsConformance_Cluster runs the suite on a three-master Redis Cluster: every
// script's keys share the {prefix} hash tag, so each runs in one slot.
func TestDefinitionsConformance_Cluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	triggertest.Run(t, func(t *testing.T) trigger.Definitions {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs(), MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		s, err := redisstore.New(context.Background(), redisstore.Config{
			Client: client, Prefix: fmt.Sprintf("c%d", prefixes.Add(1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

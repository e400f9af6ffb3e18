package memstore_test

import (
	"testing"

	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/trigger"
	"github.com/jobgate/jobgate/trigger/triggertest"
)

func TestDefinitionsConformance(t *testing.T) {
	triggertest.Run(t, func(t *testing.T) trigger.Definitions {
		return memstore.New(memstore.Config{})
	})
}

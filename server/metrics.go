package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jobgate/jobgate/jobs"
)

// Metrics are the server's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry    *prometheus.Registry
	invocations *prometheus.CounterVec
	finished    *prometheus.CounterVec
	duration    prometheus.Histogram
}

// NewMetrics registers jobgate's metrics; held reports the number of held requests now, and
// parked how many of them are parked.
func NewMetrics(held, parked func() float64) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobgate_invocations_total",
			Help: "Trigger invocations by call mode and HTTP status.",
		}, []string{"mode", "status"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobgate_jobs_finished_total",
			Help: "Jobs finished by this server's robots, by final state.",
		}, []string{"state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jobgate_job_duration_seconds",
			Help:    "Run time of jobs finished by this server's robots (start to end).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12),
		}),
	}
	held2 := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jobgate_held_requests",
		Help: "LongPolling requests held now.",
	}, held)
	parked2 := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jobgate_parked_requests",
		Help: "Held LongPolling requests whose connection is parked (no goroutine of their own).",
	}, parked)
	m.Registry.MustRegister(m.invocations, m.finished, m.duration, held2, parked2,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Invoked counts one invocation.
func (m *Metrics) Invoked(mode string, status int) {
	if mode == "" {
		mode = "unknown"
	}
	m.invocations.WithLabelValues(mode, strconv.Itoa(status)).Inc()
}

// Finished records a job that a robot of this server finished.
func (m *Metrics) Finished(j jobs.Job) {
	m.finished.WithLabelValues(string(j.State)).Inc()
	if j.StartTime != nil && j.EndTime != nil {
		m.duration.Observe(j.EndTime.Sub(*j.StartTime).Seconds())
	}
}

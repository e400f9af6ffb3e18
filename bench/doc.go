// Package bench is jobgate's benchmark harness (issue 5). It lives in the package's test
// files so that it can start private Redis servers (internal/redistest needs a testing.TB):
//
//	make bench                          # the full harness, 5-minute soak; writes docs/benchmarks.md
//	SOAK=30s make bench                 # the same with a short soak
//	PROFILE=/tmp/prof make bench        # also CPU and allocation profiles of an in-process server
//	go test ./bench                     # a small smoke run of every measurement: correctness only
//
// The server under test is the real jobgate binary, built once and run as a child process,
// so that the memory it reports is the server's own. The floor it is compared with is an
// Echo handler in the harness process that does one pipelined Redis write and answers 202.
// Figures are benchmarks, never test assertions: the full run fails only when an answer
// was wrong or lost.
package bench

package robot

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jobgate/jobgate/jobs"
)

// Limits of progress lines. A longer line is output, not progress; a longer message is cut.
const (
	maxProgressLine    = 4 << 10
	maxProgressMessage = 512
)

// progressLine matches "::progress <percent> <message>" (the message is optional).
var progressLine = regexp.MustCompile(`^::progress[ \t]+([+-]?[0-9]+(?:\.[0-9]*)?)(?:[ \t]+(.*?))?[ \t]*$`)

// parseProgress reads a progress line of a command process's stdout. The percentage is
// clamped to 0..100; anything that is not a progress line reports false.
func parseProgress(line []byte) (jobs.Progress, bool) {
	m := progressLine.FindSubmatch(bytes.TrimSuffix(line, []byte("\r")))
	if m == nil {
		return jobs.Progress{}, false
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || math.IsNaN(f) {
		return jobs.Progress{}, false
	}
	msg := string(m[2])
	if len(msg) > maxProgressMessage {
		cut := maxProgressMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	return jobs.Progress{Percent: int(max(0, min(100, f))), Message: strings.TrimSpace(msg)}, true
}

// progressWatcher is an io.Writer over a process's stdout that reports every progress line.
// It keeps at most one partial line of maxProgressLine bytes.
type progressWatcher struct {
	report  func(jobs.Progress)
	line    []byte
	tooLong bool // the current line outgrew maxProgressLine: it is output, not progress
}

// Write scans p for complete lines. It never fails.
func (w *progressWatcher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !w.tooLong {
			if len(w.line)+len(chunk) > maxProgressLine {
				w.tooLong, w.line = true, w.line[:0]
			} else {
				w.line = append(w.line, chunk...)
			}
		}
		if i < 0 {
			break
		}
		w.endLine()
		p = p[i+1:]
	}
	return n, nil
}

// endLine reports the current line if it is a progress line, and starts the next one. Call
// it at the end of the stream too: a last line needs no newline.
func (w *progressWatcher) endLine() {
	if !w.tooLong && len(w.line) > 0 {
		if pr, ok := parseProgress(w.line); ok {
			w.report(pr)
		}
	}
	w.line, w.tooLong = w.line[:0], false
}

package trigger

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// ModeChoice is the outcome of SelectMode.
type ModeChoice struct {
	Mode jobs.CallMode
	// FirstHop is how long a LongPolling answer is held before its first hop.
	FirstHop time.Duration
	// Applied is the Preference-Applied header value, "" when no preference was honoured.
	Applied string
}

// SelectMode picks the call mode (docs/api.md, "Which mode"): first an explicit $callMode,
// then the Prefer header (respond-async → AsyncRequestReply; wait=N → LongPolling with hops of
// min(N, hopMax), the first one and, through the hop URLs, every later one), then the
// trigger's default, whose LongPolling hops are hop long. When respond-async and wait come together,
// respond-async wins (RFC 7240 gives wait no meaning of its own there). Preferences that are
// unknown or malformed are ignored, as RFC 7240 asks. An unknown explicit mode is EINVALID.
func SelectMode(explicit string, hasExplicit bool, prefer []string, def jobs.CallMode, hop, hopMax time.Duration) (ModeChoice, error) {
	if hasExplicit {
		m, ok := jobs.ParseCallMode(explicit)
		if !ok {
			return ModeChoice{}, &jobs.Error{Code: jobs.EINVALID,
				Message: "unknown call mode " + strconv.Quote(explicit) + " (use AsyncRequestReply, FireAndForget or LongPolling)",
				Fields:  []jobs.FieldError{{Name: "$callMode", Detail: "must be AsyncRequestReply, FireAndForget or LongPolling"}}}
		}
		return ModeChoice{Mode: m, FirstHop: hop}, nil
	}
	async, wait, hasWait := parsePrefer(prefer)
	switch {
	case async:
		return ModeChoice{Mode: jobs.AsyncRequestReply, Applied: "respond-async"}, nil
	case hasWait:
		first := min(time.Duration(wait)*time.Second, hopMax)
		return ModeChoice{Mode: jobs.LongPolling, FirstHop: first,
			Applied: "wait=" + strconv.FormatInt(int64(first/time.Second), 10)}, nil
	}
	return ModeChoice{Mode: def, FirstHop: hop}, nil
}

// parsePrefer reads the respond-async and wait preferences of RFC 7240 from Prefer header
// values. The first occurrence of each preference counts.
func parsePrefer(values []string) (async bool, wait int64, hasWait bool) {
	seenWait := false
	for _, v := range values {
		for _, pref := range strings.Split(v, ",") {
			token, _, _ := strings.Cut(pref, ";") // parameters after ';' are not used
			name, value, _ := strings.Cut(strings.TrimSpace(token), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.Trim(strings.TrimSpace(value), `"`)
			switch name {
			case "respond-async":
				async = true
			case "wait":
				if seenWait {
					continue
				}
				seenWait = true
				n, err := strconv.ParseInt(value, 10, 64)
				if err == nil && n >= 0 {
					wait, hasWait = min(n, 1<<31), true
				} else if errors.Is(err, strconv.ErrRange) && n > 0 {
					wait, hasWait = 1<<31, true // a huge wait is still a wait: capped by hopMax
				}
			}
		}
	}
	return async, wait, hasWait
}

package odata

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// tokenKind classifies a $filter token.
type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokIdent              // a field, keyword or function name
	tokString             // 'text' with '' for a quote; text holds the unescaped value
	tokNumber             // -12, 3.5, 1e3; num holds int64 or float64
	tokDateTime           // 2024-05-01T10:00:00Z or 2024-05-01; when holds the instant
	tokGUID               // 01234567-89ab-cdef-0123-456789abcdef, unquoted as OData v4 writes it
	tokLParen
	tokRParen
	tokComma
)

// token is one lexeme of a $filter, with its byte span in the source.
type token struct {
	kind     tokenKind
	pos, end int
	text     string
	num      any
	when     time.Time
}

// syntaxError is a problem at one byte offset of an option's value. Parse turns it into a
// message that counts characters, which is what a person reading the query sees.
type syntaxError struct {
	pos int
	msg string
}

// lexer cuts a $filter into tokens on demand, so the first error reported is the leftmost.
type lexer struct {
	src string
	pos int
}

// next returns the token at the current offset and moves past it.
func (l *lexer) next() (token, *syntaxError) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tokLParen, pos: start, end: l.pos, text: "("}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, pos: start, end: l.pos, text: ")"}, nil
	case c == ',':
		l.pos++
		return token{kind: tokComma, pos: start, end: l.pos, text: ","}, nil
	case c == '\'':
		return l.string()
	case isGUID(l.src[start:]):
		l.pos += guidLen
		text := strings.ToLower(l.src[start:l.pos])
		return token{kind: tokGUID, pos: start, end: l.pos, text: text}, nil
	case isDate(l.src[start:]):
		return l.dateTime()
	case c == '-' || isDigit(c):
		return l.number()
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokIdent, pos: start, end: l.pos, text: l.src[start:l.pos]}, nil
	}
	r := l.src[start:]
	end := 1
	for end < len(r) && !isRuneStart(r[end]) {
		end++
	}
	return token{}, &syntaxError{start, "unexpected character " + quote(r[:end])}
}

// string reads a single-quoted literal; two quotes in a row stand for one.
func (l *lexer) string() (token, *syntaxError) {
	start := l.pos
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(l.src[i:], '\'')
		if j < 0 {
			return token{}, &syntaxError{start, "unterminated string: a closing ' is missing"}
		}
		b.WriteString(l.src[i : i+j])
		i += j + 1
		if i < len(l.src) && l.src[i] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		break
	}
	l.pos = i
	return token{kind: tokString, pos: start, end: i, text: b.String()}, nil
}

// number reads an optionally negative integer or decimal, with an optional exponent.
// Integers that fit become int64, everything else float64.
func (l *lexer) number() (token, *syntaxError) {
	start := l.pos
	i := start
	if l.src[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
			n++
		}
		return n
	}
	isFloat := false
	ok := digits() > 0
	if ok && i < len(l.src) && l.src[i] == '.' {
		i++
		isFloat = true
		ok = digits() > 0
	}
	if ok && i < len(l.src) && (l.src[i] == 'e' || l.src[i] == 'E') {
		j := i + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			i = j
			digits()
			isFloat = true
		}
	}
	if !ok || (i < len(l.src) && (isIdentPart(l.src[i]) || l.src[i] == '.')) {
		for i < len(l.src) && (isIdentPart(l.src[i]) || l.src[i] == '.' || l.src[i] == '-') {
			i++
		}
		return token{}, &syntaxError{start, "malformed number " + quote(l.src[start:i])}
	}
	l.pos = i
	text := l.src[start:i]
	tok := token{kind: tokNumber, pos: start, end: i, text: text}
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			tok.num = n
			return tok, nil
		}
	}
	// The text is well formed, so the only possible error is a range error: overflow
	// (±Inf) is refused, underflow to zero is fine.
	f, _ := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		return token{}, &syntaxError{start, "number " + quote(text) + " is out of range"}
	}
	tok.num = f
	return tok, nil
}

// parseDateTime parses a datetime written as an unquoted literal or, for DateTime fields,
// a quoted one: RFC 3339 with optional fractional seconds, the same without seconds, or a
// bare date (midnight UTC). 't' and 'z' may be lowercase.
func parseDateTime(s string) (time.Time, bool) {
	s = strings.ToUpper(s)
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// dateTime reads an unquoted datetime such as 2024-05-01T10:00:00.5+02:00.
func (l *lexer) dateTime() (token, *syntaxError) {
	start := l.pos
	i := start
	for i < len(l.src) && isDateTimePart(l.src[i]) {
		i++
	}
	text := l.src[start:i]
	// An unencoded '+' in a URL arrives as a space, so "10:00:00+02:00" is read as
	// "10:00:00 02:00". Take the space back as '+' when it can only mean an offset.
	if t := strings.ToUpper(text); strings.Contains(t, "T") && !hasOffset(t) &&
		i+6 <= len(l.src) && l.src[i] == ' ' && isOffsetDigits(l.src[i+1:i+6]) &&
		(i+6 == len(l.src) || !isDateTimePart(l.src[i+6])) {
		text += "+" + l.src[i+1:i+6]
		i += 6
	}
	when, ok := parseDateTime(text)
	if !ok {
		return token{}, &syntaxError{start, "malformed datetime " + quote(l.src[start:i]) +
			" (want RFC 3339, e.g. 2024-05-01T10:00:00Z)"}
	}
	l.pos = i
	return token{kind: tokDateTime, pos: start, end: i, text: text, when: when}, nil
}

// hasOffset reports whether the upper-cased datetime text ends with Z or a ±hh:mm offset.
func hasOffset(t string) bool {
	tpos := strings.IndexByte(t, 'T')
	return strings.HasSuffix(t, "Z") || (tpos >= 0 && strings.ContainsAny(t[tpos:], "+-"))
}

// isOffsetDigits reports whether s is "hh:mm".
func isOffsetDigits(s string) bool {
	return len(s) == 5 && isDigit(s[0]) && isDigit(s[1]) && s[2] == ':' && isDigit(s[3]) && isDigit(s[4])
}

// isDate reports whether s starts with yyyy-mm-dd, the start of a datetime literal.
func isDate(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := range 10 {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

const guidLen = 36

// isGUID reports whether s starts with a GUID (8-4-4-4-12 hex digits) that is not part of
// a longer word.
func isGUID(s string) bool {
	if len(s) < guidLen {
		return false
	}
	for i := range guidLen {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return len(s) == guidLen || !(isIdentPart(s[guidLen]) || s[guidLen] == '-')
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }
func isIdentStart(c byte) bool { return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// isDateTimePart reports whether c may appear in an unquoted datetime.
func isDateTimePart(c byte) bool {
	return isDigit(c) || strings.IndexByte("-:.+TtZz", c) >= 0
}

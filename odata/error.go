package odata

import (
	"strings"
	"unicode/utf8"

	"github.com/jobgate/jobgate/jobs"
)

// optionErrors collects the problems of one query, one per option, so a client learns
// about all of them at once.
type optionErrors struct {
	fields   []jobs.FieldError
	messages []string
}

// add records a problem with option name. message is the whole sentence for the Message;
// when empty it is "name: detail". detail defaults to message.
func (e *optionErrors) add(name, detail, message string) {
	if message == "" {
		message = name + ": " + detail
	}
	if detail == "" {
		detail = message
	}
	e.fields = append(e.fields, jobs.FieldError{Name: name, Detail: detail})
	e.messages = append(e.messages, message)
}

// err returns the collected problems as one EINVALID error, or nil.
func (e *optionErrors) err() error {
	if len(e.fields) == 0 {
		return nil
	}
	return &jobs.Error{Code: jobs.EINVALID, Message: strings.Join(e.messages, "; "), Fields: e.fields}
}

// runeOffset converts a byte offset of src into a character offset, the position a person
// counts in the query. Invalid UTF-8 bytes count one each.
func runeOffset(src string, pos int) int {
	return utf8.RuneCountInString(src[:min(max(pos, 0), len(src))])
}

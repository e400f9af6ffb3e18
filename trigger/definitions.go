package trigger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
)

// Definitions persists the releases (processes), API triggers and tenant settings created
// through the management API, so that every server sharing the store sees them. Resources
// declared in the config file never go here: the Catalog keeps those in memory and consults
// them first. Names and slugs are unique per tenant, case-insensitively (strings.ToLower);
// the store enforces that in the same atomic step as the change.
//
// Implementations: memstore and redisstore. Both pass trigger/triggertest.
type Definitions interface {
	// ListReleases returns tenant t's stored releases, in Id order.
	ListReleases(ctx context.Context, t jobs.Tenant) ([]jobs.Process, error)
	// ReleaseByID returns the stored release with the given Id. Codes: ENOTFOUND.
	ReleaseByID(ctx context.Context, t jobs.Tenant, id int64) (jobs.Process, error)
	// ReleaseByName returns the stored release named name (case-insensitive).
	// Codes: ENOTFOUND.
	ReleaseByName(ctx context.Context, t jobs.Tenant, name string) (jobs.Process, error)
	// CreateRelease stores p as a new release and returns it with its Id: the next of the
	// tenant's release counter, and always above minID (the ids the config file uses).
	// Codes: ECONFLICT (the name is taken).
	CreateRelease(ctx context.Context, t jobs.Tenant, p jobs.Process, minID int64) (jobs.Process, error)
	// ReplaceRelease replaces the stored release p.ID with p. Renaming a release that stored
	// triggers use is refused, naming them. Codes: ENOTFOUND, ECONFLICT (the new name is
	// taken, or the release is renamed while triggers use it).
	ReplaceRelease(ctx context.Context, t jobs.Tenant, p jobs.Process) (jobs.Process, error)
	// DeleteRelease deletes the stored release id, unless stored triggers use it.
	// Codes: ENOTFOUND, ECONFLICT (triggers use it; the message names them).
	DeleteRelease(ctx context.Context, t jobs.Tenant, id int64) error

	// ListTriggers returns tenant t's stored triggers, in Id order.
	ListTriggers(ctx context.Context, t jobs.Tenant) ([]Trigger, error)
	// TriggerByID returns the stored trigger with the given Id. Codes: ENOTFOUND.
	TriggerByID(ctx context.Context, t jobs.Tenant, id int64) (Trigger, error)
	// TriggerBySlug returns the stored trigger with the given slug (case-insensitive) and,
	// when its release is stored here too, that release (nil otherwise: the release is
	// declared in the config file). It is on every invocation's path: one round trip.
	// Codes: ENOTFOUND.
	TriggerBySlug(ctx context.Context, t jobs.Tenant, slug string) (Trigger, *jobs.Process, error)
	// CreateTrigger stores tr as a new trigger and returns it with its Id (above minID).
	// When storedRelease is true, tr.ReleaseName must name a release stored here, checked
	// in the same atomic step (so a concurrent DeleteRelease cannot orphan the trigger).
	// Codes: ECONFLICT (the slug is taken), EINVALID (the release is not stored here).
	CreateTrigger(ctx context.Context, t jobs.Tenant, tr Trigger, storedRelease bool, minID int64) (Trigger, error)
	// ReplaceTrigger replaces the stored trigger tr.ID with tr; storedRelease as for
	// CreateTrigger. Codes: ENOTFOUND, ECONFLICT (the new slug is taken), EINVALID.
	ReplaceTrigger(ctx context.Context, t jobs.Tenant, tr Trigger, storedRelease bool) (Trigger, error)
	// DeleteTrigger deletes the stored trigger id. Codes: ENOTFOUND.
	DeleteTrigger(ctx context.Context, t jobs.Tenant, id int64) error

	// Settings returns tenant t's stored settings, and false when none were stored.
	Settings(ctx context.Context, t jobs.Tenant) (callmode.Settings, bool, error)
	// PutSettings stores tenant t's settings.
	PutSettings(ctx context.Context, t jobs.Tenant, s callmode.Settings) error
}

// UsedByError is the ECONFLICT a store returns when release is used by triggers (their
// slugs) and so cannot be deleted or renamed.
func UsedByError(release string, slugs []string) *jobs.Error {
	return &jobs.Error{Code: jobs.ECONFLICT,
		Message: fmt.Sprintf("release %q is used by the API triggers %s: change or delete them first", release, quoteList(slugs))}
}

// NameTakenError is the ECONFLICT a store returns when a release name is taken.
func NameTakenError(name string) *jobs.Error {
	return &jobs.Error{Code: jobs.ECONFLICT,
		Message: fmt.Sprintf("tenant already has a release named %q (names are case-insensitive)", name),
		Fields:  []jobs.FieldError{{Name: "Name", Detail: "is taken by another release"}}}
}

// SlugTakenError is the ECONFLICT a store returns when a trigger slug is taken.
func SlugTakenError(slug string) *jobs.Error {
	return &jobs.Error{Code: jobs.ECONFLICT,
		Message: fmt.Sprintf("tenant already has a trigger %q (slugs are case-insensitive)", slug),
		Fields:  []jobs.FieldError{{Name: "Slug", Detail: "is taken by another trigger"}}}
}

// NoReleaseError is the EINVALID for a trigger whose release does not exist.
func NoReleaseError(name string) *jobs.Error {
	return &jobs.Error{Code: jobs.EINVALID, Message: fmt.Sprintf("there is no release named %q", name),
		Fields: []jobs.FieldError{{Name: "ReleaseName", Detail: fmt.Sprintf("no release is named %q", name)}}}
}

// quoteList renders names as "a", "b", "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

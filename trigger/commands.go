package trigger

import (
	"github.com/jobgate/jobgate/jobs"
)

// Who may define a command process (issue 8, part 2): the config file always (the
// operator's); the management API only for a tenant whose operator set allowApiCommands in
// the config file, and only on a server that sandboxes commands (or was told
// --unsafe-commands).

// AllowAPICommands records the operator's allowApiCommands setting of tenant t (config file
// or --dev only; the API cannot change it). Codes: EINVALID (bad tenant name).
func (c *Catalog) AllowAPICommands(t jobs.Tenant, allow bool) error {
	if err := c.AddTenant(t); err != nil {
		return err
	}
	c.mu.Lock()
	td := c.tenantLocked(t)
	td.allowAPICommands, td.apiCommandsDeclared = allow, true
	c.mu.Unlock()
	return nil
}

// APICommandsAllowed reports tenant t's allowApiCommands setting (default false), and
// whether the config file (or --dev) declared it.
func (c *Catalog) APICommandsAllowed(t jobs.Tenant) (allowed, declared bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if td := c.tenants[t]; td != nil {
		return td.allowAPICommands, td.apiCommandsDeclared
	}
	return false, false
}

// RefuseAPICommands makes the catalogue refuse every command release made through the API,
// for reason (the server cannot sandbox them). "" accepts them again (per tenant setting).
func (c *Catalog) RefuseAPICommands(reason string) {
	c.mu.Lock()
	c.apiCommandsRefused = reason
	c.mu.Unlock()
}

// checkAPICommand refuses a release with a Command that tenant t may not define through
// the API. Codes: ECONFLICT.
func (c *Catalog) checkAPICommand(t jobs.Tenant, p jobs.Process) error {
	if len(p.Command) == 0 {
		return nil
	}
	c.mu.RLock()
	refused := c.apiCommandsRefused
	c.mu.RUnlock()
	field := []jobs.FieldError{{Name: "Command", Detail: "command releases cannot be made through the API here"}}
	if allowed, _ := c.APICommandsAllowed(t); !allowed {
		return &jobs.Error{Code: jobs.ECONFLICT, Fields: field,
			Message: "tenant " + t.String() + " may not define command processes through the API: the operator must set allowApiCommands: true in this tenant's settings in the config file (or declare the process there)"}
	}
	if refused != "" {
		return &jobs.Error{Code: jobs.ECONFLICT, Fields: field,
			Message: "this server cannot run command processes in a sandbox (" + refused + "), so it refuses command releases made through the API; the operator may declare the process in the config file, or start the server with --unsafe-commands"}
	}
	return nil
}

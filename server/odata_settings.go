package server

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
	"github.com/jobgate/jobgate/trigger"
)

// Settings (docs/api.md §19): the tenant's call-mode settings, one entity per tenant.

// settingsSchema lists the Settings fields that $select may name.
var settingsSchema = odata.Schema{
	"RequireAuthOnRedirects": odata.Bool, "RedirectStatus": odata.Number, "Source": odata.String,
	"AllowApiCommands": odata.Bool,
}

// settingsFields are the fields a client may write.
var settingsFields = []string{"RequireAuthOnRedirects", "RedirectStatus"}

// settingsJSON renders a tenant's settings. Source is Config, Api or Default.
// AllowApiCommands is the operator's (config file only) and read-only here.
func settingsJSON(info trigger.SettingsInfo, allowAPICommands bool) map[string]any {
	return map[string]any{
		"RequireAuthOnRedirects": info.Settings.RequireAuthOnRedirects,
		"RedirectStatus":         info.Settings.RedirectStatus,
		"Source":                 info.Source,
		"AllowApiCommands":       allowAPICommands,
	}
}

// checkAllowAPICommands refuses a body that would change AllowApiCommands (409): only the
// operator sets it, in the config file. Sending the current value back is fine.
func checkAllowAPICommands(b *body, current bool) error {
	raw := b.given("AllowApiCommands")
	if raw == nil {
		return nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err == nil && v == current {
		return nil
	}
	return &jobs.Error{Code: jobs.ECONFLICT,
		Message: "AllowApiCommands is set by the operator in the config file (settings: allowApiCommands); the API cannot change it",
		Fields:  []jobs.FieldError{{Name: "AllowApiCommands", Detail: "is read-only: the operator sets it in the config file"}}}
}

// decodeSettings reads settings from a body that gives every field; an absent field takes
// its default (RequireAuthOnRedirects true, RedirectStatus 303).
func decodeSettings(b *body) (callmode.Settings, error) {
	def := callmode.DefaultSettings()
	b.readOnly("Source", "AllowApiCommands")
	s := callmode.Settings{
		RequireAuthOnRedirects: b.boolean("RequireAuthOnRedirects", def.RequireAuthOnRedirects),
		RedirectStatus:         int(b.integer("RedirectStatus", int64(def.RedirectStatus))),
	}
	refuseQuotas(b)
	b.unknown(settingsFields)
	return s, b.err("settings")
}

func (s *Server) getSettings(c echo.Context, r odataRequest) error {
	info, err := s.cfg.Catalog.TenantSettings(c.Request().Context(), r.Tenant)
	if err != nil {
		return err
	}
	allowed, _ := s.cfg.Catalog.APICommandsAllowed(r.Tenant)
	return s.writeEntity(c, "Settings", settingsSchema, settingsJSON(info, allowed))
}

func (s *Server) putSettings(c echo.Context, r odataRequest) error {
	return s.changeSettings(c, r, false)
}

func (s *Server) patchSettings(c echo.Context, r odataRequest) error {
	return s.changeSettings(c, r, true)
}

// changeSettings serves PUT (absent fields take their defaults) and PATCH (absent fields
// keep their values). Settings the config file declares are refused with 409.
func (s *Server) changeSettings(c echo.Context, r odataRequest, patch bool) error {
	ctx := c.Request().Context()
	current, err := s.cfg.Catalog.TenantSettings(ctx, r.Tenant)
	if err != nil {
		return err
	}
	allowed, _ := s.cfg.Catalog.APICommandsAllowed(r.Tenant)
	if current.Source == jobs.SourceConfig {
		_, err := s.cfg.Catalog.PutSettings(ctx, r.Tenant, current.Settings)
		return err // the 409 naming the file
	}
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	if err := checkAllowAPICommands(b, allowed); err != nil {
		return err
	}
	if patch {
		b = merged(settingsJSON(current, allowed), b)
	}
	settings, err := decodeSettings(b)
	if err != nil {
		return alsoInvalid(err, settings.Validate(), settingsFields)
	}
	info, err := s.cfg.Catalog.PutSettings(ctx, r.Tenant, settings)
	if err != nil {
		return err
	}
	return s.writeChanged(c, http.StatusOK, "Settings", settingsJSON(info, allowed))
}

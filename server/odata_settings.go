package server

import (
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
}

// settingsFields are the fields a client may write.
var settingsFields = []string{"RequireAuthOnRedirects", "RedirectStatus"}

// settingsJSON renders a tenant's settings. Source is Config, Api or Default.
func settingsJSON(info trigger.SettingsInfo) map[string]any {
	return map[string]any{
		"RequireAuthOnRedirects": info.Settings.RequireAuthOnRedirects,
		"RedirectStatus":         info.Settings.RedirectStatus,
		"Source":                 info.Source,
	}
}

// decodeSettings reads settings from a body that gives every field; an absent field takes
// its default (RequireAuthOnRedirects true, RedirectStatus 303).
func decodeSettings(b *body) (callmode.Settings, error) {
	def := callmode.DefaultSettings()
	b.readOnly("Source")
	s := callmode.Settings{
		RequireAuthOnRedirects: b.boolean("RequireAuthOnRedirects", def.RequireAuthOnRedirects),
		RedirectStatus:         int(b.integer("RedirectStatus", int64(def.RedirectStatus))),
	}
	b.unknown(settingsFields)
	return s, b.err("settings")
}

func (s *Server) getSettings(c echo.Context, r odataRequest) error {
	info, err := s.cfg.Catalog.TenantSettings(c.Request().Context(), r.Tenant)
	if err != nil {
		return err
	}
	return s.writeEntity(c, "Settings", settingsSchema, settingsJSON(info))
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
	if current.Source == jobs.SourceConfig {
		_, err := s.cfg.Catalog.PutSettings(ctx, r.Tenant, current.Settings)
		return err // the 409 naming the file
	}
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	if patch {
		b = merged(settingsJSON(current), b)
	}
	settings, err := decodeSettings(b)
	if err != nil {
		return alsoInvalid(err, settings.Validate(), settingsFields)
	}
	info, err := s.cfg.Catalog.PutSettings(ctx, r.Tenant, settings)
	if err != nil {
		return err
	}
	return s.writeChanged(c, http.StatusOK, "Settings", settingsJSON(info))
}

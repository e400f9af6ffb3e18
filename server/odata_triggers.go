package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
	"github.com/jobgate/jobgate/trigger"
)

// The ApiTriggers entity set (docs/api.md §19): URL slugs that start a release.

// triggerSchema lists the ApiTriggers fields that $filter, $orderby and $select may name.
var triggerSchema = odata.Schema{
	"Id": odata.Number, "Key": odata.String, "Slug": odata.String, "ReleaseName": odata.String,
	"Method": odata.String, "CallMode": odata.String, "Enabled": odata.Bool, "Arguments": odata.Object,
	"Source": odata.String,
}

// triggerFields are the fields a client may write.
var triggerFields = []string{"Slug", "ReleaseName", "Method", "CallMode", "Enabled", "Arguments"}

// triggerJSON renders a trigger as the API shows it.
func triggerJSON(tr trigger.Trigger) map[string]any {
	args := tr.Arguments
	if args == nil {
		args = map[string]any{}
	}
	return map[string]any{
		"Id": tr.ID, "Key": tr.Key, "Slug": tr.Slug, "ReleaseName": tr.ReleaseName, "Method": tr.Method,
		"CallMode": string(tr.CallMode), "Enabled": tr.Enabled, "Arguments": args, "Source": tr.Source,
	}
}

// decodeTrigger reads a trigger from a body that gives every field; id as for decodeRelease.
// Enabled defaults to true.
func decodeTrigger(b *body, id int64) (trigger.Trigger, error) {
	tr := trigger.Trigger{ID: id}
	b.checkID(id)
	b.readOnly("Key", "Source")
	tr.Slug = b.str("Slug")
	tr.ReleaseName = b.str("ReleaseName")
	tr.Method = b.str("Method")
	tr.CallMode = jobs.CallMode(b.str("CallMode"))
	tr.Enabled = b.boolean("Enabled", true)
	b.decode("Arguments", &tr.Arguments, `an object of argument values, e.g. {"y": 1}`)
	b.unknown(triggerFields)
	return tr, b.err("API trigger")
}

func (s *Server) listTriggers(c echo.Context, r odataRequest) error {
	all, err := s.cfg.Catalog.Triggers(c.Request().Context(), r.Tenant)
	if err != nil {
		return err
	}
	entities := make([]map[string]any, len(all))
	for i, tr := range all {
		entities[i] = triggerJSON(tr)
	}
	return s.writeList(c, "ApiTriggers", triggerSchema, entities)
}

func (s *Server) getTrigger(c echo.Context, r odataRequest) error {
	tr, err := s.cfg.Catalog.TriggerByID(c.Request().Context(), r.Tenant, r.ID)
	if err != nil {
		return err
	}
	return s.writeEntity(c, "ApiTriggers/$entity", triggerSchema, triggerJSON(tr))
}

func (s *Server) createTrigger(c echo.Context, r odataRequest) error {
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	tr, err := decodeTrigger(b, 0)
	if err != nil {
		return alsoInvalid(err, s.cfg.Catalog.CheckTrigger(c.Request().Context(), r.Tenant, tr), triggerFields)
	}
	created, err := s.cfg.Catalog.CreateTrigger(c.Request().Context(), r.Tenant, tr)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, s.odataBase(c)+fmt.Sprintf("ApiTriggers(%d)", created.ID))
	return s.writeChanged(c, http.StatusCreated, "ApiTriggers/$entity", triggerJSON(created))
}

func (s *Server) replaceTrigger(c echo.Context, r odataRequest) error {
	return s.changeTrigger(c, r, false)
}

func (s *Server) patchTrigger(c echo.Context, r odataRequest) error {
	return s.changeTrigger(c, r, true)
}

// changeTrigger serves PUT and PATCH, as changeRelease does.
func (s *Server) changeTrigger(c echo.Context, r odataRequest, patch bool) error {
	ctx := c.Request().Context()
	current, err := s.cfg.Catalog.EditableTrigger(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	if patch {
		b = merged(triggerJSON(current), b)
	}
	tr, err := decodeTrigger(b, r.ID)
	if err != nil {
		return alsoInvalid(err, s.cfg.Catalog.CheckTrigger(ctx, r.Tenant, tr), triggerFields)
	}
	changed, err := s.cfg.Catalog.ReplaceTrigger(ctx, r.Tenant, tr)
	if err != nil {
		return err
	}
	return s.writeChanged(c, http.StatusOK, "ApiTriggers/$entity", triggerJSON(changed))
}

func (s *Server) deleteTrigger(c echo.Context, r odataRequest) error {
	if err := s.cfg.Catalog.DeleteTrigger(c.Request().Context(), r.Tenant, r.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

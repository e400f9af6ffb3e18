package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
)

// UiPath's action names, kept so that UiPath clients work unchanged.
const (
	actionPrefix    = "UiPath.Server.Configuration.OData."
	actionStartJobs = actionPrefix + "StartJobs"
	actionStopJob   = actionPrefix + "StopJob"
	actionStopAll   = actionPrefix + "StopJobs"
)

// entityPath splits what follows …/odata/: an entity set, an optional (Id), and an optional
// /Action or /Property.
var entityPath = regexp.MustCompile(`^([A-Za-z]+)(?:\((\d{1,18})\))?(?:/([A-Za-z.]+))?$`)

// odataRequest is what the dispatcher hands an OData handler.
type odataRequest struct {
	Tenant jobs.Tenant
	ID     int64 // the (Id) of the path, when the route has one
}

// odataHandler serves one OData route; the dispatcher has checked the caller's scope.
type odataHandler func(c echo.Context, r odataRequest) error

// odataRoute is one line of the management API's table (routes.go).
type odataRoute struct {
	method string
	path   string   // "Set", "Set(Id)", "Set(Id)/Action" or "Set/Action"
	scopes []string // the caller needs one of them
	handle odataHandler
}

// odataShape is a route path taken apart: the set, whether it has an (Id), the action.
type odataShape struct {
	set    string
	hasID  bool
	action string
}

func shapeOf(path string) odataShape {
	set, rest, _ := strings.Cut(path, "/")
	var sh odataShape
	sh.set, sh.hasID = strings.CutSuffix(set, "(Id)")
	sh.action = rest
	return sh
}

// odata serves /:org/:tenant/orchestrator_/odata/* (docs/api.md §19) by the route table: 404
// for an unknown path, 405 with Allow for a known path and another method, 403 without the
// route's scope.
func (s *Server) odata(c echo.Context) error {
	m := entityPath.FindStringSubmatch(c.Param("*"))
	if m == nil {
		return jobs.Errorf(jobs.ENOTFOUND, "no OData resource %q", c.Param("*"))
	}
	got := odataShape{set: m[1], hasID: m[2] != "", action: m[3]}
	method := c.Request().Method
	var allow []string
	knownSet := false
	for _, r := range s.odataRoutes {
		sh := shapeOf(r.path)
		knownSet = knownSet || sh.set == got.set
		if sh != got {
			continue
		}
		if r.method != method {
			allow = append(allow, r.method)
			continue
		}
		p, _ := auth.PrincipalFrom(c)
		if err := p.Require(r.scopes...); err != nil {
			return err
		}
		req := odataRequest{Tenant: jobs.Tenant{Org: c.Param("org"), Tenant: c.Param("tenant")}}
		if got.hasID {
			req.ID, _ = strconv.ParseInt(m[2], 10, 64)
		}
		return r.handle(c, req)
	}
	switch {
	case len(allow) > 0:
		return &jobs.Error{Code: jobs.EMETHOD, Allow: allow,
			Message: c.Param("*") + " does not accept " + method + " (it accepts " + strings.Join(allow, ", ") + ")"}
	case !knownSet:
		return jobs.Errorf(jobs.ENOTFOUND, "no entity set %q (sets: Jobs, Releases, ApiTriggers, Settings)", got.set)
	case got.action != "":
		return jobs.Errorf(jobs.ENOTFOUND, "no action or property %q on %s", got.action, got.set)
	}
	return jobs.Errorf(jobs.ENOTFOUND, "no OData resource %q", c.Param("*"))
}

// odataBase is the absolute URL of the tenant's OData service root, ending in "/odata/".
func (s *Server) odataBase(c echo.Context) string {
	base := s.cfg.PublicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(c.Param("org")) + "/" + url.PathEscape(c.Param("tenant")) + "/orchestrator_/odata/"
}

func (s *Server) odataContext(c echo.Context, fragment string) string {
	return s.odataBase(c) + "$metadata#" + fragment
}

// mapRecord exposes an entity's JSON fields to the query layer.
type mapRecord map[string]any

// Field implements odata.Record.
func (r mapRecord) Field(name string) any { return r[name] }

// writeList answers a list request over every entity of a set (docs/api.md §19): $filter,
// $orderby, $top, $skip, $count and $select, checked against schema.
func (s *Server) writeList(c echo.Context, set string, schema odata.Schema, entities []map[string]any) error {
	q, err := odata.Parse(c.QueryParams(), schema, odata.Options{})
	if err != nil {
		return err
	}
	records := make([]mapRecord, len(entities))
	for i, e := range entities {
		records[i] = e
	}
	page, total := odata.Apply(records, q)
	value := make([]map[string]any, len(page))
	for i, r := range page {
		value[i] = q.Project(r)
	}
	body := map[string]any{"@odata.context": s.odataContext(c, set), "value": value}
	if q.Count {
		body["@odata.count"] = total
	}
	return c.JSON(http.StatusOK, body)
}

// writeEntity answers a request for one entity, honouring $select. context is the
// fragment of @odata.context ("Set/$entity", or the singleton's name).
func (s *Server) writeEntity(c echo.Context, context string, schema odata.Schema, entity map[string]any) error {
	q, err := parseSelect(c.QueryParams(), schema)
	if err != nil {
		return err
	}
	body := q.Project(entity)
	body["@odata.context"] = s.odataContext(c, context)
	return c.JSON(http.StatusOK, body)
}

// writeChanged answers a create or change with the entity as it now is.
func (s *Server) writeChanged(c echo.Context, status int, context string, entity map[string]any) error {
	entity["@odata.context"] = s.odataContext(c, context)
	return c.JSON(status, entity)
}

// parseSelect reads the query options of a single-entity request: only $select applies
// there; any other $ option is refused.
func parseSelect(values url.Values, schema odata.Schema) (*odata.Query, error) {
	sel := url.Values{}
	var errs []jobs.FieldError
	for k, v := range values {
		switch {
		case strings.EqualFold(k, "$select"):
			sel[k] = v
		case strings.HasPrefix(k, "$"):
			errs = append(errs, jobs.FieldError{Name: k, Detail: k + " does not apply to a single entity (only $select does)"})
		}
	}
	if len(errs) > 0 {
		return nil, &jobs.Error{Code: jobs.EINVALID, Message: errs[0].Detail, Fields: errs}
	}
	return odata.Parse(sel, schema, odata.Options{})
}

// exactJSON renders v as a JSON-shaped map, keeping numbers exact (json.Number).
func exactJSON(v any) map[string]any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m)
	return m
}

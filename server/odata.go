package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
)

// UiPath's action names, kept so that UiPath clients work unchanged.
const (
	actionPrefix  = "UiPath.Server.Configuration.OData."
	actionStopJob = actionPrefix + "StopJob"
	actionStopAll = actionPrefix + "StopJobs"
)

var entityPath = regexp.MustCompile(`^([A-Za-z]+)(?:\((\d{1,18})\))?(?:/([A-Za-z.]+))?$`)

// jobSchema lists the Jobs fields that $filter, $orderby and $select may name.
var jobSchema = odata.Schema{
	"Id": odata.Number, "Key": odata.String, "State": odata.String,
	"CreationTime": odata.DateTime, "StartTime": odata.DateTime, "EndTime": odata.DateTime,
	"Info": odata.String, "ReleaseName": odata.String, "Source": odata.String,
	"SourceType": odata.String, "CallMode": odata.String, "TriggerSlug": odata.String,
}

// jobRecord exposes a job's fields to the query layer.
type jobRecord struct{ j *jobs.Job }

func (r jobRecord) Field(name string) any {
	j := r.j
	switch name {
	case "Id":
		return j.ID
	case "Key":
		return j.Key
	case "State":
		return string(j.State)
	case "CreationTime":
		return j.CreationTime
	case "StartTime":
		return timeOrNil(j.StartTime)
	case "EndTime":
		return timeOrNil(j.EndTime)
	case "Info":
		return j.Info
	case "ReleaseName":
		return j.ReleaseName
	case "Source":
		return j.Source
	case "SourceType":
		return j.SourceType
	case "CallMode":
		return string(j.CallMode)
	case "TriggerSlug":
		return j.TriggerSlug
	}
	return nil
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// odata serves /:org/:tenant/orchestrator_/odata/* (CONTRACT §9).
func (s *Server) odata(c echo.Context) error {
	m := entityPath.FindStringSubmatch(c.Param("*"))
	if m == nil {
		return jobs.Errorf(jobs.ENOTFOUND, "no OData resource %q", c.Param("*"))
	}
	set, idText, action := m[1], m[2], m[3]
	switch set {
	case "Jobs":
		return s.jobsAPI(c, idText, action)
	}
	return jobs.Errorf(jobs.ENOTFOUND, "no entity set %q", set)
}

func (s *Server) jobsAPI(c echo.Context, idText, action string) error {
	p, _ := auth.PrincipalFrom(c)
	t := jobs.Tenant{Org: c.Param("org"), Tenant: c.Param("tenant")}
	method := c.Request().Method
	switch {
	case idText == "" && action == "" && method == http.MethodGet:
		if err := p.Require(auth.ScopeJobs, auth.ScopeJobsRead); err != nil {
			return err
		}
		return s.listJobs(c, t)
	case idText != "" && action == "" && method == http.MethodGet:
		if err := p.Require(auth.ScopeJobs, auth.ScopeJobsRead); err != nil {
			return err
		}
		id, _ := strconv.ParseInt(idText, 10, 64)
		job, err := s.cfg.Store.GetByID(c.Request().Context(), t, id)
		if err != nil {
			return err
		}
		body := jobJSON(job)
		body["@odata.context"] = s.odataContext(c, "Jobs/$entity")
		return c.JSON(http.StatusOK, body)
	case idText != "" && action == actionStopJob && method == http.MethodPost:
		if err := p.Require(auth.ScopeJobs); err != nil {
			return err
		}
		return s.stopJob(c, t, idText)
	case idText == "" && action == actionStopAll && method == http.MethodPost:
		if err := p.Require(auth.ScopeJobs); err != nil {
			return err
		}
		return s.stopJobs(c, t)
	case action == "" && (idText == "" || idText != ""):
		allow := "GET"
		return &jobs.Error{Code: jobs.EMETHOD, Allow: []string{allow}, Message: "Jobs is read-only here: " + method + " is not allowed"}
	}
	return jobs.Errorf(jobs.ENOTFOUND, "no action %q on Jobs", action)
}

func (s *Server) listJobs(c echo.Context, t jobs.Tenant) error {
	q, err := odata.Parse(c.QueryParams(), jobSchema, odata.Options{})
	if err != nil {
		return err
	}
	lq := jobs.ListQuery{
		Match: func(j *jobs.Job) bool { return q.Match(jobRecord{j}) },
		Skip:  q.Skip, Top: q.Top,
	}
	if len(q.OrderBy) > 0 {
		lq.Less = func(a, b *jobs.Job) bool { return q.Less(jobRecord{a}, jobRecord{b}) }
	}
	if q.Top == 0 {
		lq.Skip, lq.Top = 0, 1 // $top=0: only the count is wanted
	}
	page, total, err := s.cfg.Store.List(c.Request().Context(), t, lq)
	if err != nil {
		return err
	}
	if q.Top == 0 {
		page = nil
	}
	value := make([]map[string]any, 0, len(page))
	for _, j := range page {
		value = append(value, q.Project(jobJSON(j)))
	}
	body := map[string]any{"@odata.context": s.odataContext(c, "Jobs"), "value": value}
	if q.Count {
		body["@odata.count"] = total
	}
	return c.JSON(http.StatusOK, body)
}

type stopRequest struct {
	Strategy string  `json:"strategy"`
	JobIDs   []int64 `json:"jobIds"`
}

func (s *Server) readStop(c echo.Context, wantIDs bool) (stopRequest, jobs.StopStrategy, error) {
	var req stopRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, "", jobs.Errorf(jobs.EINVALID, "the body must be a JSON object like {\"strategy\": \"SoftStop\"}: %v", err)
	}
	var strategy jobs.StopStrategy
	switch strings.ToLower(req.Strategy) {
	case "softstop", "":
		strategy = jobs.SoftStop
	case "kill":
		strategy = jobs.Kill
	default:
		return req, "", &jobs.Error{Code: jobs.EINVALID, Message: "unknown stop strategy " + strconv.Quote(req.Strategy),
			Fields: []jobs.FieldError{{Name: "strategy", Detail: "must be SoftStop or Kill"}}}
	}
	if wantIDs && len(req.JobIDs) == 0 {
		return req, "", &jobs.Error{Code: jobs.EINVALID, Message: "jobIds is empty",
			Fields: []jobs.FieldError{{Name: "jobIds", Detail: "must list at least one job id"}}}
	}
	return req, strategy, nil
}

func (s *Server) stopJob(c echo.Context, t jobs.Tenant, idText string) error {
	_, strategy, err := s.readStop(c, false)
	if err != nil {
		return err
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	ctx := c.Request().Context()
	job, err := s.cfg.Store.GetByID(ctx, t, id)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Stop(ctx, t, job.Key, strategy); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// stopJobs stops every listed job; it refuses the whole request, changing nothing, when an
// id does not exist.
func (s *Server) stopJobs(c echo.Context, t jobs.Tenant) error {
	req, strategy, err := s.readStop(c, true)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	keys := make([]string, 0, len(req.JobIDs))
	for _, id := range req.JobIDs {
		job, err := s.cfg.Store.GetByID(ctx, t, id)
		if err != nil {
			return err
		}
		keys = append(keys, job.Key)
	}
	for _, key := range keys {
		if _, err := s.cfg.Store.Stop(ctx, t, key, strategy); err != nil && jobs.ErrorCode(err) != jobs.ECONFLICT {
			return err
		}
	}
	return c.NoContent(http.StatusOK)
}

func (s *Server) odataContext(c echo.Context, fragment string) string {
	base := s.cfg.PublicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return strings.TrimRight(base, "/") + "/" + c.Param("org") + "/" + c.Param("tenant") + "/orchestrator_/odata/$metadata#" + fragment
}

// jobJSON renders a job as the API shows it (CONTRACT §7).
func jobJSON(j jobs.Job) map[string]any {
	b, _ := json.Marshal(j)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/internal/jsonbody"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
)

// The Jobs entity set (docs/api.md §14; docs/api.md §19): read-only, plus UiPath's StartJobs, StopJob and
// StopJobs actions and each job's log.

// jobSchema lists the Jobs fields that $filter, $orderby and $select may name.
var jobSchema = odata.Schema{
	"Id": odata.Number, "Key": odata.String, "State": odata.String,
	"CreationTime": odata.DateTime, "StartTime": odata.DateTime, "EndTime": odata.DateTime,
	"Info": odata.String, "ReleaseName": odata.String, "Source": odata.String,
	"SourceType": odata.String, "CallMode": odata.String, "TriggerSlug": odata.String,
	"InputArguments": odata.Object, "OutputArguments": odata.Object, "Release": odata.Object,
	"Robot": odata.Object, "Progress": odata.Object,
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

// jobJSON renders a job as the API shows it (docs/api.md §14), numbers exact.
func jobJSON(j jobs.Job) map[string]any { return exactJSON(j) }

func (s *Server) listJobs(c echo.Context, r odataRequest) error {
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
	page, total, err := s.cfg.Store.List(c.Request().Context(), r.Tenant, lq)
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

func (s *Server) getJob(c echo.Context, r odataRequest) error {
	job, err := s.cfg.Store.GetByID(c.Request().Context(), r.Tenant, r.ID)
	if err != nil {
		return err
	}
	return s.writeEntity(c, "Jobs/$entity", jobSchema, jobJSON(job))
}

// jobLogs serves GET Jobs(Id)/Logs: the job's stored log (the tail of its process's output)
// as text/plain; empty when it has none.
func (s *Server) jobLogs(c echo.Context, r odataRequest) error {
	ctx := c.Request().Context()
	job, err := s.cfg.Store.GetByID(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	log, err := s.cfg.Store.Log(ctx, r.Tenant, job.Key)
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, log)
}

// maxJobsCount is the most jobs one StartJobs may create.
const maxJobsCount = 100

// startInfoFields are the startInfo fields StartJobs reads; startInfoIgnored are UiPath
// fields it accepts and ignores (jobgate has no robot selection or priorities).
var (
	startInfoFields  = []string{"ReleaseKey", "ReleaseName", "JobsCount", "InputArguments"}
	startInfoIgnored = []string{"Strategy", "Source", "RuntimeType", "JobPriority", "SpecificPriorityValue",
		"RobotIds", "NoOfRobots", "MachineSessionIds", "Reference"}
)

// startJobs serves POST Jobs/UiPath.Server.Configuration.OData.StartJobs: it creates
// JobsCount Pending jobs of the release (SourceType Manual, no call mode) and answers 201
// with them.
func (s *Server) startJobs(c echo.Context, r odataRequest) error {
	ctx := c.Request().Context()
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if !b.decode("startInfo", &raw, `an object such as {"ReleaseKey": "…", "JobsCount": 1, "InputArguments": "{\"x\":1}"}`) && len(b.errs) == 0 {
		b.bad("startInfo", `is required: {"startInfo": {"ReleaseKey": "…", "JobsCount": 1, "InputArguments": "{\"x\":1}"}}`)
	}
	b.unknown([]string{"startInfo"})
	if err := b.err("StartJobs request"); err != nil {
		return err
	}
	si := newBody(raw, "startInfo.")
	key, name := si.str("ReleaseKey"), si.str("ReleaseName")
	count := si.integer("JobsCount", 1)
	var input map[string]any
	if v := si.given("InputArguments"); v != nil {
		var text string
		if err := json.Unmarshal(v, &text); err != nil {
			si.bad("InputArguments", `must be a JSON object written as a string, e.g. "{\"x\":1}"`)
		} else if input, err = argumentsText(text); err != nil {
			si.bad("InputArguments", "%s", err)
		}
	}
	si.readOnly(startInfoIgnored...)
	si.unknown(append(append([]string{}, startInfoFields...), startInfoIgnored...))
	if key == "" && name == "" {
		si.bad("ReleaseKey", "is required: the Key of the release to run (or give ReleaseName)")
	}
	if count < 1 || count > maxJobsCount {
		si.bad("JobsCount", "must be 1 to %d, got %d", maxJobsCount, count)
	}
	if err := si.err("startInfo"); err != nil {
		return err
	}

	var proc jobs.Process
	if key != "" {
		proc, err = s.cfg.Catalog.ReleaseByKey(ctx, r.Tenant, key)
	} else {
		proc, err = s.cfg.Catalog.ReleaseByName(ctx, r.Tenant, name)
	}
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		field := "startInfo.ReleaseKey"
		if key == "" {
			field = "startInfo.ReleaseName"
		}
		return &jobs.Error{Code: jobs.EINVALID, Message: jobs.ErrorMessage(err),
			Fields: []jobs.FieldError{{Name: field, Detail: "names no release of this tenant"}}}
	}
	if err != nil {
		return err
	}
	args, err := jobs.BindArguments(proc.Arguments, nil, input, false)
	if err != nil {
		return err
	}
	quotas := s.cfg.Catalog.Quotas(r.Tenant)
	if err := startJobsFit(count, args, quotas.MaxStartJobsBytes); err != nil {
		return err
	}
	value := make([]map[string]any, 0, count)
	for range count {
		job, _, err := s.cfg.Store.Create(ctx, jobs.CreateRequest{MaxPending: quotas.MaxPendingJobs, Job: jobs.Job{
			Org: r.Tenant.Org, Tenant: r.Tenant.Tenant,
			InputArguments: args,
			ReleaseName:    proc.Name,
			ProcessName:    proc.Name,
			Release:        jobs.Release{ID: proc.ID, Key: proc.Key, ProcessKey: proc.ProcessKey},
			Source:         jobs.SourceTypeManual,
			SourceType:     jobs.SourceTypeManual,
		}})
		if err != nil {
			return s.undoStartJobs(ctx, r.Tenant, value, err)
		}
		value = append(value, startedJobJSON(job))
	}
	return c.JSON(http.StatusCreated, map[string]any{"@odata.context": s.odataContext(c, "Jobs"), "value": value})
}

// argumentsText reads InputArguments, a JSON object written as a string (as UiPath sends
// it), keeping numbers exact. Empty text means no arguments.
func argumentsText(text string) (map[string]any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("has data after its JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New(`must hold a JSON object, e.g. "{\"x\":1}"`)
	}
	return m, nil
}

type stopRequest struct {
	Strategy json.RawMessage `json:"strategy"`
	JobIDs   []int64         `json:"jobIds"`
}

func (s *Server) readStop(c echo.Context, wantIDs bool) (stopRequest, jobs.StopStrategy, error) {
	var req stopRequest
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return req, "", jobs.Errorf(jobs.EINVALID, "could not read the request body (at most 1 MiB)")
	}
	if err := jsonbody.Check(data, "the request body"); err != nil {
		return req, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, "", jobs.Errorf(jobs.EINVALID, "the body must be a JSON object like {\"strategy\": \"SoftStop\"}: %s", jsonbody.Describe(err))
	}
	strategy, err := stopStrategy(req.Strategy)
	if err != nil {
		return req, "", err
	}
	if wantIDs && len(req.JobIDs) == 0 {
		return req, "", &jobs.Error{Code: jobs.EINVALID, Message: "jobIds is empty",
			Fields: []jobs.FieldError{{Name: "jobIds", Detail: "must list at least one job id"}}}
	}
	return req, strategy, nil
}

// stopStrategy reads a stop request's strategy: a name in any letter case, or UiPath's
// numeric StopStrategy (1 = SoftStop, 2 = Kill), which its .NET and Java clients send.
// An absent, null or empty strategy is SoftStop.
func stopStrategy(raw json.RawMessage) (jobs.StopStrategy, error) {
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", jobs.Errorf(jobs.EINVALID, "the strategy is not valid JSON: %v", err)
		}
	}
	switch v := v.(type) {
	case nil:
		return jobs.SoftStop, nil
	case string:
		switch strings.ToLower(v) {
		case "softstop", "":
			return jobs.SoftStop, nil
		case "kill":
			return jobs.Kill, nil
		}
	case float64:
		switch v {
		case 1:
			return jobs.SoftStop, nil
		case 2:
			return jobs.Kill, nil
		}
	}
	kind := map[bool]string{true: "array", false: "object"}[strings.HasPrefix(strings.TrimSpace(string(raw)), "[")]
	if _, ok := v.(bool); ok {
		kind = "boolean"
	}
	if _, ok := v.(string); ok {
		kind = "an unknown name " + string(raw)
	} else if _, ok := v.(float64); ok {
		kind = "an unknown number " + string(raw)
	}
	return "", &jobs.Error{Code: jobs.EINVALID, Message: "the strategy is " + kind + ": want SoftStop or Kill (or 1 or 2)",
		Fields: []jobs.FieldError{{Name: "strategy", Detail: "must be SoftStop or Kill (or UiPath's numbers 1 or 2)"}}}
}

func (s *Server) stopJob(c echo.Context, r odataRequest) error {
	_, strategy, err := s.readStop(c, false)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	job, err := s.cfg.Store.GetByID(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Stop(ctx, r.Tenant, job.Key, strategy); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// stopJobs stops every listed job; it refuses the whole request, changing nothing, when an
// id does not exist.
func (s *Server) stopJobs(c echo.Context, r odataRequest) error {
	req, strategy, err := s.readStop(c, true)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	keys := make([]string, 0, len(req.JobIDs))
	for _, id := range req.JobIDs {
		job, err := s.cfg.Store.GetByID(ctx, r.Tenant, id)
		if err != nil {
			return err
		}
		keys = append(keys, job.Key)
	}
	for _, key := range keys {
		if _, err := s.cfg.Store.Stop(ctx, r.Tenant, key, strategy); err != nil && jobs.ErrorCode(err) != jobs.ECONFLICT {
			return err
		}
	}
	return c.NoContent(http.StatusOK)
}

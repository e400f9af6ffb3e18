package redisstore

import "strconv"

// Every key of the store is built here. All keys share one hash tag, {<prefix>}, so every
// script touches a single cluster slot and the same scripts run on Redis Cluster.
//
//	{P}:job:<key>           hash   one job (fields below); expires with the retention once final
//	{P}:pending             list   keys of Pending jobs, oldest first
//	{P}:leases              zset   keys of leased jobs, scored by lease expiry (unix ms)
//	{P}:deadlines           zset   keys of jobs with a deadline, scored by it (unix ms)
//	{P}:expiry              zset   "<org>/<tenant>|<key>" of final jobs, scored by when they go (unix ms)
//	{P}:ids:<org>/<tenant>  string the tenant's last job id (one per tenant)
//	{P}:byid:<org>/<tenant> zset   the tenant's job keys scored by id
//	{P}:npending:<org>/<tenant>
//	                        string how many of the tenant's jobs are Pending (the maxPendingJobs
//	                        quota): create and release add one, claim and finalize take one
//	{P}:idem:<len>:<org>/<tenant>:<len>:<scope>:<idempotency key>
//	                        (<len> is the byte length of the part after it, so no choice of
//	                        tenant, scope and key can spell another's key)
//	                        string "<job key>|<fingerprint>|<expires unix ms>", with a TTL
//	{P}:log:<key>           string the job's log (tail of its output); expires with the job
//	{P}:claim:<owner>       string the job a robot slot holds, so a claim whose reply was lost
//	                        is handed to the same slot again; expires with the lease
//	{P}:capkey              string the shared capability-signing key
//	{P}:events              pub/sub channel of "<key>|<state>" notifications, but for Pending
//	{P}:work                pub/sub channel of "<key>|Pending" notifications: robots' wake-ups
//
// What the management API creates (trigger.Definitions), per tenant <org>/<tenant>:
//
//	{P}:rel:<org>/<tenant>      hash   release id → release JSON (storedRelease)
//	{P}:relname:<org>/<tenant>  hash   lower-cased release name → release id
//	{P}:trg:<org>/<tenant>      hash   trigger id → trigger JSON (storedTrigger)
//	{P}:trgslug:<org>/<tenant>  hash   lower-cased trigger slug → trigger id
//	{P}:trgrel:<org>/<tenant>   hash   trigger id → lower-cased name of its release
//	{P}:defids:<org>/<tenant>   hash   "release", "trigger" → the last id given
//	{P}:settings:<org>/<tenant> string the tenant's settings JSON
type keys struct {
	base string // "{P}:"
}

func newKeys(prefix string) keys { return keys{base: "{" + prefix + "}:"} }

func (k keys) job(key string) string     { return k.base + "job:" + key }
func (k keys) claim(owner string) string { return k.base + "claim:" + owner }
func (k keys) log(key string) string     { return k.base + "log:" + key }
func (k keys) pending() string           { return k.base + "pending" }
func (k keys) leases() string            { return k.base + "leases" }
func (k keys) deadlines() string         { return k.base + "deadlines" }
func (k keys) expiry() string            { return k.base + "expiry" }
func (k keys) ids(tenant string) string  { return k.base + "ids:" + tenant }
func (k keys) byID(tenant string) string { return k.base + "byid:" + tenant }
func (k keys) nPending(tenant string) string {
	return k.base + "npending:" + tenant // also built in Lua: prelude's leftPending, releaseScript
}
func (k keys) capKey() string { return k.base + "capkey" }
func (k keys) events() string { return k.base + "events" }
func (k keys) work() string   { return k.base + "work" }
func (k keys) idem(tenant, scope, idemKey string) string {
	return k.base + "idem:" + strconv.Itoa(len(tenant)) + ":" + tenant + ":" +
		strconv.Itoa(len(scope)) + ":" + scope + ":" + idemKey
}

// Keys of the management API's resources.
func (k keys) rel(tenant string) string      { return k.base + "rel:" + tenant }
func (k keys) relName(tenant string) string  { return k.base + "relname:" + tenant }
func (k keys) trg(tenant string) string      { return k.base + "trg:" + tenant }
func (k keys) trgSlug(tenant string) string  { return k.base + "trgslug:" + tenant }
func (k keys) trgRel(tenant string) string   { return k.base + "trgrel:" + tenant }
func (k keys) defIDs(tenant string) string   { return k.base + "defids:" + tenant }
func (k keys) settings(tenant string) string { return k.base + "settings:" + tenant }

// Fields of a job hash.
const (
	fOrg      = "org"
	fTenant   = "tenant"
	fID       = "id"
	fKey      = "key"
	fState    = "state"
	fCreated  = "created" // unix ns
	fStart    = "start"   // unix ns or ""
	fEnd      = "end"     // unix ns or ""
	fInfo     = "info"
	fInput    = "input"   // JSON object
	fOutput   = "output"  // JSON object or ""
	fRelease  = "release" // JSON
	fRobot    = "robot"   // JSON or ""
	fSource   = "source"
	fSrcType  = "stype"
	fMode     = "mode"
	fSlug     = "slug"
	fProcess  = "pname"
	fRelName  = "rname"
	fDeadline = "deadline" // unix ns or ""
	fDInfo    = "dinfo"
	fOwner    = "owner"
	fLease    = "lease"    // unix ms or ""
	fProgress = "progress" // JSON or ""
	fStop     = "stop"
)

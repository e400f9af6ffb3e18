package auth

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// principalKey is where BearerWithConfig leaves the Principal in the echo.Context.
const principalKey = "jobgate.auth.principal"

// BearerConfig configures the middleware BearerWithConfig returns.
type BearerConfig struct {
	// Skipper lets a request through unchecked when it returns true. Optional. Default:
	// never skip. Its type is that of Echo's middleware.Skipper, so one of those can be
	// assigned (this package does not import echo/middleware to keep its dependencies small).
	Skipper func(c echo.Context) bool
	// Verifier checks the token. Required.
	Verifier *Verifier
	// OrgParam and TenantParam name the path parameters the token's org and tenant must
	// equal. Optional. Default "org" and "tenant".
	OrgParam, TenantParam string
	// SkipTenantCheck turns the org/tenant comparison off, for routes outside a tenant.
	// Optional. Default false: an absent path parameter never matches, so a
	// misconfigured tenant route fails closed with 403.
	SkipTenantCheck bool
}

// DefaultBearerConfig is the BearerConfig whose values BearerWithConfig fills in for
// unset fields. It has no Verifier; one must always be given.
func DefaultBearerConfig() BearerConfig {
	return BearerConfig{
		Skipper:     func(echo.Context) bool { return false },
		OrgParam:    "org",
		TenantParam: "tenant",
	}
}

// BearerWithConfig returns middleware that verifies the request's Authorization header,
// checks the token's org and tenant against the path, and stores the Principal for
// PrincipalFrom. On failure it returns the *Error unchanged (401, or 403 for another
// tenant) and writes nothing: the server's error handler renders it.
//
// It panics when cfg.Verifier is nil, like Echo's own middleware does for a missing
// required dependency: that is a wiring mistake, found at startup.
func BearerWithConfig(cfg BearerConfig) echo.MiddlewareFunc {
	if cfg.Verifier == nil {
		panic("auth: BearerWithConfig needs a Verifier")
	}
	def := DefaultBearerConfig()
	if cfg.Skipper == nil {
		cfg.Skipper = def.Skipper
	}
	if cfg.OrgParam == "" {
		cfg.OrgParam = def.OrgParam
	}
	if cfg.TenantParam == "" {
		cfg.TenantParam = def.TenantParam
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			p, err := cfg.Verifier.FromHeader(c.Request().Header.Get(echo.HeaderAuthorization))
			if err != nil {
				return err
			}
			if !cfg.SkipTenantCheck {
				if err := CheckTenant(p, c.Param(cfg.OrgParam), c.Param(cfg.TenantParam)); err != nil {
					return err
				}
			}
			SetPrincipal(c, p)
			return next(c)
		}
	}
}

// SetPrincipal stores p in c for PrincipalFrom. BearerWithConfig calls it; other
// authenticators (capability URLs) may too.
func SetPrincipal(c echo.Context, p Principal) {
	c.Set(principalKey, p)
}

// PrincipalFrom returns the Principal stored in c and whether there was one.
func PrincipalFrom(c echo.Context) (Principal, bool) {
	p, ok := c.Get(principalKey).(Principal)
	return p, ok
}

// RequireScope returns middleware that lets a request through only when its Principal
// has at least one of anyOf. Without a Principal it returns a 401 *Error with an empty
// Code; without the scope, the 403 insufficient_scope *Error of Principal.Require.
func RequireScope(anyOf ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := PrincipalFrom(c)
			if !ok {
				return &Error{Status: http.StatusUnauthorized, Description: "request is not authenticated"}
			}
			if err := p.Require(anyOf...); err != nil {
				return err
			}
			return next(c)
		}
	}
}

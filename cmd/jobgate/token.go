package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jobgate/jobgate/auth"
)

// runToken implements `jobgate token`: it prints an HS256 JWT alone on stdout.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("token", "Mint a bearer JWT (HS256) for one tenant.", stderr)
	org := fs.String("org", "", "organisation the token is for (required)")
	tenant := fs.String("tenant", "", "tenant the token is for (required)")
	subject := fs.String("subject", "", "the token's subject (sub claim)")
	scope := fs.String("scope", strings.Join(auth.AllScopes(), " "), "space-separated scopes")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	secret := fs.String("secret", "", "HS256 secret; falls back to $JOBGATE_JWT_SECRET")
	issuer := fs.String("issuer", "", "iss claim (optional)")
	audience := fs.String("audience", "", "aud claim (optional)")
	if err := parseFlags(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "jobgate token:", err)
		return 2
	}
	if *secret == "" {
		*secret = getenv("JOBGATE_JWT_SECRET")
	}
	if *issuer == "" {
		*issuer = getenv("JOBGATE_JWT_ISSUER")
	}
	if *audience == "" {
		*audience = getenv("JOBGATE_JWT_AUDIENCE")
	}
	switch {
	case *secret == "":
		fmt.Fprintln(stderr, "jobgate token: no secret: pass --secret or set JOBGATE_JWT_SECRET (the server's --jwt-secret)")
		return 2
	case *org == "" || *tenant == "":
		fmt.Fprintln(stderr, "jobgate token: --org and --tenant are required")
		return 2
	case *ttl <= 0:
		fmt.Fprintln(stderr, "jobgate token: --ttl must be positive")
		return 2
	}
	tok, err := auth.Mint(auth.MintConfig{
		Secret: []byte(*secret), Org: *org, Tenant: *tenant, Subject: *subject,
		Scopes: strings.Fields(*scope), TTL: *ttl, Issuer: *issuer, Audience: *audience,
	})
	if err != nil {
		fmt.Fprintln(stderr, "jobgate token:", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

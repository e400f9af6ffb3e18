package auth

import "testing"

func TestError_ChallengeAndMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		given           Error
		expectChallenge string
		expectError     string
	}{
		{
			name:            "no token",
			given:           Error{Status: 401, Description: "no bearer token"},
			expectChallenge: `Bearer realm="jobgate"`,
			expectError:     "auth: 401: no bearer token",
		},
		{
			name:            "bad token",
			given:           Error{Status: 401, Code: CodeInvalidToken, Description: "token is expired"},
			expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="token is expired"`,
			expectError:     "auth: 401 invalid_token: token is expired",
		},
		{
			name:            "description with quotes, backslash, newline and non-ASCII",
			given:           Error{Status: 401, Code: CodeInvalidToken, Description: "bad \"x\"\\y\r\nz\té"},
			expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="bad 'x'/yz"`,
			expectError:     "auth: 401 invalid_token: bad \"x\"\\y\r\nz\té",
		},
		{
			name:            "missing scope",
			given:           Error{Status: 403, Code: CodeInsufficientScope, Description: "token lacks scope OR.Jobs", Scope: "OR.Jobs"},
			expectChallenge: `Bearer realm="jobgate", error="insufficient_scope", scope="OR.Jobs"`,
			expectError:     "auth: 403 insufficient_scope: token lacks scope OR.Jobs",
		},
		{
			name:            "wrong tenant",
			given:           Error{Status: 403, Description: "token is for tenant a/b, not c/d"},
			expectChallenge: "",
			expectError:     "auth: 403: token is for tenant a/b, not c/d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.given.Challenge(); got != tt.expectChallenge {
				t.Errorf("Challenge() = %s, want %s", got, tt.expectChallenge)
			}
			if got := tt.given.Error(); got != tt.expectError {
				t.Errorf("Error() = %q, want %q", got, tt.expectError)
			}
		})
	}
}

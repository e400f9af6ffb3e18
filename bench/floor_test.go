package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// startFloor serves the floor in the harness process and returns its base URL: an Echo
// handler that reads the body, does one pipelined Redis write (a hash, a list push and an
// expiry) and answers 202 with a Location, the least any invocation endpoint on Redis can
// do. It stops when the test ends.
func startFloor(t testing.TB, redisAddr string) string {
	t.Helper()
	// The same client settings as jobgate's (cmd/jobgate/store.go), so that the floor is
	// not held back by a smaller connection pool.
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, Protocol: 2, PoolSize: max(64, 10*runtime.GOMAXPROCS(0))})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/t/:slug", func(c echo.Context) error {
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
		if err != nil {
			return err
		}
		key := uuid.NewString()
		job := "floor:job:" + key
		pipe := rdb.Pipeline()
		pipe.HSet(c.Request().Context(), job, "key", key, "state", "Pending", "slug", c.Param("slug"),
			"created", strconv.FormatInt(time.Now().UnixNano(), 10), "input", body)
		pipe.RPush(c.Request().Context(), "floor:pending", key)
		pipe.Expire(c.Request().Context(), job, time.Hour)
		if _, err := pipe.Exec(c.Request().Context()); err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderLocation, "/jobs/"+key+"/status")
		return c.JSON(http.StatusAccepted, map[string]string{"Key": key, "State": "Pending"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("floor server: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = rdb.Close()
	})
	return "http://" + ln.Addr().String()
}

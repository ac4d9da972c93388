package config

import (
	"testing"

	"github.com/guichet/guichet/shared/password"
)

func TestPasswordHashing(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	t.Run("production parameters are at least OWASP's argon2id minimum", func(t *testing.T) {
		c, err := Parse(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Password != password.Default || c.Password.MemoryKiB < 19*1024 || c.Password.Time < 2 || c.Password.Threads < 1 {
			t.Fatalf("default hashing parameters %+v", c.Password)
		}
	})
	t.Run("PASSWORD_HASH raises the cost", func(t *testing.T) {
		c, err := Parse(env(map[string]string{"PASSWORD_HASH": "m=65536,t=3,p=2"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Password.MemoryKiB != 65536 || c.Password.Time != 3 || c.Password.Threads != 2 {
			t.Fatalf("got %+v", c.Password)
		}
	})
	for _, v := range []string{"m=64,t=1,p=1", "m=19456,t=1,p=1", "fast"} {
		t.Run("PASSWORD_HASH "+v+" is refused", func(t *testing.T) {
			if _, err := Parse(env(map[string]string{"PASSWORD_HASH": v})); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

package profile_test

import (
	"sync"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestConcurrentCodesCheckAtMostTheLimit: a code attempt is counted before
// the code is checked, so 40 wrong codes at once get 5 checks (403) and 35
// refusals (429), and then the right code is refused too.
func TestConcurrentCodesCheckAtMostTheLimit(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "burst@acme.example", "member")
	secret, _ := enroll(t, e, e.Login(t, u.Email, apitest.UserPassword).AccessToken)
	nextStep(e)
	ch := login(t, e, u.Email, apitest.UserPassword)
	wrong := "000000"
	if code(e, secret) == wrong {
		wrong = "111111"
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[int]int{}
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := answer(e, ch.ChallengeToken, wrong)
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[403] != 5 || got[429] != 35 {
		t.Fatalf("answers by status %v, want 5 checks (403) and 35 refusals (429)", got)
	}
	if r := answer(e, ch.ChallengeToken, code(e, secret)); r.Status != 429 {
		t.Fatalf("the right code once locked: %d %s", r.Status, r.Body)
	}
}

package profile

import (
	"fmt"
	"strings"

	"github.com/guichet/guichet/shared/address"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Route is one's usual trip, from one address to another.
type Route struct {
	From address.Address `json:"from"`
	To   address.Address `json:"to"`
}

// Range is a span of working time within a day, "HH:MM" to "HH:MM" (end
// may be "24:00").
type Range struct {
	Start string `json:"start" doc:"HH:MM"`
	End   string `json:"end" doc:"HH:MM, after start; 24:00 is the end of the day"`
}

// WorkingHours lists, per weekday, zero to four ranges, sorted and not
// overlapping.
type WorkingHours struct {
	Mon []Range `json:"mon"`
	Tue []Range `json:"tue"`
	Wed []Range `json:"wed"`
	Thu []Range `json:"thu"`
	Fri []Range `json:"fri"`
	Sat []Range `json:"sat"`
	Sun []Range `json:"sun"`
}

// days are the weekdays in order, with their field in WorkingHours.
var days = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func (w *WorkingHours) day(d string) *[]Range {
	return map[string]*[]Range{"mon": &w.Mon, "tue": &w.Tue, "wed": &w.Wed, "thu": &w.Thu,
		"fri": &w.Fri, "sat": &w.Sat, "sun": &w.Sun}[d]
}

// maxRanges is the most ranges a day may hold.
const maxRanges = 4

// Notification is one event type's switches.
type Notification struct {
	Email bool `json:"email" doc:"Whether the event is sent by e-mail"`
}

// notificationsView lists every event type with u's switch.
func notificationsView(u store.User) map[string]Notification {
	out := map[string]Notification{}
	for _, t := range notices.Types() {
		out[t.ID] = Notification{Email: notices.Wants(u, t.ID)}
	}
	return out
}

// encodeHours is the stored form of working hours:
// "mon=08:00-12:00,13:00-17:00 tue=…", days without ranges left out.
func encodeHours(w WorkingHours) string {
	var out []string
	for _, d := range days {
		rs := *w.day(d)
		if len(rs) == 0 {
			continue
		}
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = r.Start + "-" + r.End
		}
		out = append(out, d+"="+strings.Join(parts, ","))
	}
	return strings.Join(out, " ")
}

// decodeHours reads the stored form; every day gets a list, empty or not.
func decodeHours(s string) WorkingHours {
	var w WorkingHours
	for _, d := range days {
		*w.day(d) = []Range{}
	}
	for _, f := range strings.Fields(s) {
		d, spans, _ := strings.Cut(f, "=")
		p := w.day(d)
		if p == nil {
			continue
		}
		for _, span := range strings.Split(spans, ",") {
			start, end, _ := strings.Cut(span, "-")
			*p = append(*p, Range{Start: start, End: end})
		}
	}
	return w
}

// minutes reads "HH:MM" (00:00 to 24:00) as minutes since midnight.
func minutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil {
		return 0, false
	}
	for _, c := range s[:2] + s[3:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// checkHours validates working hours, naming each bad field such as
// working_hours.mon[1].end.
func checkHours(v *validate.Errors, w WorkingHours) {
	for _, d := range days {
		rs := *w.day(d)
		field := "working_hours." + d
		if len(rs) > maxRanges {
			v.Add(field, "must hold at most %d ranges", maxRanges)
			continue
		}
		prevEnd := -1
		for i, r := range rs {
			f := fmt.Sprintf("%s[%d]", field, i)
			start, okS := minutes(r.Start)
			end, okE := minutes(r.End)
			if !okS || start == 24*60 {
				v.Add(f+".start", "must be a time HH:MM between 00:00 and 23:59")
			}
			if !okE {
				v.Add(f+".end", "must be a time HH:MM between 00:01 and 24:00")
			}
			if !okS || !okE {
				prevEnd = -1
				continue
			}
			switch {
			case end <= start:
				v.Add(f+".end", "must be after start")
			case prevEnd > start:
				v.Add(f+".start", "must not be before the end of the previous range: ranges are sorted and do not overlap")
			}
			prevEnd = max(prevEnd, end)
		}
	}
}

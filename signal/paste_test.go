package signal

import (
	"encoding/base64"
	"strings"
	"testing"
)

func forgivingInputs() []forgivingVector {
	tok := mustEncode(offer3(vmSummary))
	ans := mustEncode(validInputs()[2].tok)
	wrap := func(s string, n int, sep string) string {
		var parts []string
		for len(s) > n {
			parts = append(parts, s[:n])
			s = s[n:]
		}
		return strings.Join(append(parts, s), sep)
	}
	f := func(name, input, canonical string) forgivingVector {
		return forgivingVector{Name: name, Input: input, Token: canonical}
	}
	return []forgivingVector{
		f("canonical", tok, tok),
		f("surrounding-whitespace", "\n\t  "+tok+"  \r\n", tok),
		f("wrapped-lines-crlf", wrap(tok, 40, "\r\n"), tok),
		f("wrapped-lines-lf-indented", wrap(ans, 33, "\n    "), ans),
		f("spaces-inside", wrap(tok, 7, " "), tok),
		f("mail-quote-marks", "> "+wrap(tok, 50, "\n> "), tok),
		f("nested-mail-quote-marks", ">> "+wrap(tok, 50, "\n>> "), tok),
		f("double-quotes", `"`+tok+`"`, tok),
		f("single-quotes", "'"+tok+"'", tok),
		f("backticks", "`"+tok+"`", tok),
		f("code-fence", "```\n"+tok+"\n```", tok),
		f("typographic-double-quotes", "“"+tok+"”", tok),
		f("typographic-single-quotes", "‘"+tok+"’", tok),
		f("guillemets", "« "+tok+" »", tok),
		f("angle-brackets", "<"+tok+">", tok),
		f("url", "https://p2pcopy.example/#"+tok, tok),
		f("url-in-angle-brackets", "<https://p2pcopy.example/receive#"+tok+">", tok),
		f("url-with-two-hashes", "https://p2pcopy.example/#x#"+ans, ans),
		f("json-event-line", `{"event":"offer","token":"`+tok+`"}`, tok),
		f("json-event-line-spaced", "{\"event\": \"answer\", \"token\": \""+ans+"\", \"verification\": null}\n", ans),
		f("json-event-line-with-url", `{"event":"offer","url":"https://p2pcopy.example/#`+ans+`","token":"`+tok+`"}`, tok),
		f("json-event-line-quoted", "'{\"event\":\"offer\",\"token\":\""+tok+"\"}'", tok),
		f("zero-width-spaces", wrap(tok, 25, "\u200b"), tok),
		f("no-break-spaces-and-bom", "\ufeff"+wrap(tok, 25, "\u00a0"), tok),
		f("soft-hyphens", wrap(ans, 30, "\u00ad"), ans),
		f("pion-form-pion-offer", pionForm("offer", pionOfferSDP, base64.StdEncoding), mustEncode(pionOfferToken)),
		f("pion-form-url-safe-unpadded", pionForm("offer", pionOfferSDP, base64.RawURLEncoding), mustEncode(pionOfferToken)),
		f("pion-form-chrome-offer-wrapped", wrap(pionForm("offer", chromeOfferSDP, base64.StdEncoding), 64, "\n"), mustEncode(chromeOfferToken)),
		f("pion-form-firefox-answer", pionForm("answer", firefoxAnswerSDP, base64.StdEncoding), mustEncode(firefoxAnswerToken)),
	}
}

func TestDecodeForgivingVectors(t *testing.T) {
	vf := readVectors(t)
	for _, v := range vf.Forgiving {
		t.Run(v.Name, func(t *testing.T) {
			want, err := Decode(v.Token)
			if err != nil {
				t.Fatal(err)
			}
			if c := cleanPaste(v.Token); c != v.Token {
				t.Fatalf("canonical token %q is not canonical", v.Token)
			}
			got, err := Decode(v.Input)
			if err != nil {
				t.Fatalf("Decode(%q): %v", v.Input, err)
			}
			if !tokensEqual(got, want) {
				t.Fatalf("decoded\n%s\nwant\n%s", dump(got), dump(want))
			}
		})
	}
}

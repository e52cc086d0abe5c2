import Testing
@testable import ConvergeAgent

private func options(_ text: String) throws -> KeyOptions { try KeyOptions(parsing: text) }
private func error(_ text: String) -> String? {
    do { _ = try KeyOptions(parsing: text); return nil } catch { return error.description }
}

@Suite struct KeyOptionsTests {
    @Test func noOptionsAllowEverything() throws {
        let none = try options("")
        #expect(none == KeyOptions())
        #expect(KeyOptions.Permission.allCases.allSatisfy { none.allows($0) })
        #expect(none.from == nil && none.command == nil && none.expiry == nil && none.permitOpen.isEmpty)
    }

    @Test func flagsAndRestrictReadLeftToRight() throws {
        let restricted = try options("restrict")
        #expect(KeyOptions.Permission.allCases.allSatisfy { restricted.deniedBy[$0] == "restrict" })
        let withPty = try options("restrict,pty")
        #expect(withPty.allows(.pty) && !withPty.allows(.portForwarding))
        #expect(withPty.deniedBy[.portForwarding] == "restrict")
        let ptyFirst = try options("pty,restrict")
        #expect(!ptyFirst.allows(.pty))
        let forwarding = try options("RESTRICT,Port-Forwarding")  // names in any case, as sshd
        #expect(forwarding.allows(.portForwarding) && !forwarding.allows(.pty))
        let noPty = try options("no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc")
        #expect(noPty.deniedBy[.pty] == "no-pty" && noPty.deniedBy[.portForwarding] == "no-port-forwarding")
        #expect(!noPty.allows(.agentForwarding) && !noPty.allows(.x11Forwarding) && !noPty.allows(.userRC))
        #expect(try options("no-touch-required").deniedBy.isEmpty)
    }

    @Test func quotedValuesWithCommasSpacesAndEscapedQuotes() throws {
        let parsed = try options(#"command="echo \"a, b\" \\n",from="10.0.0.0/8, 192.0.2.1""#)
        #expect(parsed.command == #"echo "a, b" \\n"#)
        #expect(parsed.from?.description == "10.0.0.0/8, 192.0.2.1")
    }

    @Test func hostileInputIsAnErrorNamingTheOption() {
        #expect(error("bogus")?.contains(#"unknown option "bogus""#) == true)
        #expect(error("no-pty,bogus=\"x\"")?.contains("bogus") == true)
        #expect(error("no-pty,") == "the options end with a comma")
        #expect(error(",no-pty") == "an empty option")
        #expect(error("no-pty,,pty") == "an empty option")
        #expect(error("command=echo")?.contains("double quotes") == true)
        #expect(error("command=\"echo")?.contains("no closing quote") == true)
        #expect(error("command=\"a\\\"")?.contains("no closing quote") == true)  // \" is a quote, not the end
        #expect(error("command=\"a\"x")?.contains("after option") == true)
        #expect(error("command=\"a\",command=\"b\"") == "command= is given twice")
        #expect(error("from=\"1.2.3.4\",from=\"1.2.3.4\"") == "from= is given twice")
        #expect(error("no-pty=\"x\"") == "option no-pty takes no value")
        #expect(error("command") == "option command needs a value: command=\"...\"")
        #expect(error("cert-authority")?.contains("certificates") == true)
        #expect(error("principals=\"me\"")?.contains("certificates") == true)
        #expect(error("verify-required")?.contains("verify-required") == true)
        #expect(error("from=\"\"")?.contains("empty pattern") == true)
        #expect(error("from=\"10.0.0.1,\"")?.contains("empty pattern") == true)
        #expect(error("from=\"!\"")?.contains("empty pattern") == true)
        #expect(error("from=\"10.1.2.0/33\"")?.contains("prefix") == true)
        #expect(error("from=\"example.com\"")?.contains("not looked up") == true)
        #expect(error("permitopen=\"host\"")?.contains("HOST:PORT") == true)
        #expect(error("permitopen=\":22\"")?.contains("HOST:PORT") == true)
        #expect(error("permitopen=\"h:0\"")?.contains("HOST:PORT") == true)
        #expect(error("permitopen=\"h:65536\"")?.contains("HOST:PORT") == true)
        #expect(error("permitopen=\"h:+22\"")?.contains("HOST:PORT") == true)
        #expect(error("permitopen=\"[::1]22\"")?.contains("HOST:PORT") == true)
        #expect(error("expiry-time=\"2030\"")?.contains("YYYYMMDD") == true)
        #expect(error("expiry-time=\"20300230\"")?.contains("not a valid date") == true)
        #expect(error("expiry-time=\"203001012460\"")?.contains("not a valid date") == true)
        #expect(error("expiry-time=\"２０３００１０１\"")?.contains("YYYYMMDD") == true)  // full-width digits
        #expect(error("environment=\"=x\"")?.contains("NAME=value") == true)
        #expect(error("environment=\"A-B=x\"")?.contains("NAME=value") == true)
        #expect(error("environment=\"NOEQUALS\"")?.contains("NAME=value") == true)
        // Control bytes and non-ASCII in an unknown name stay on one log line.
        let hostile = error("\u{1b}[31m\nevil\u{0}") ?? ""
        #expect(hostile.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    }

    @Test func fromMatchesAddressesNetworksWildcardsAndNegations() throws {
        let from = try #require(try options(#"from="!10.1.2.3,10.0.0.0/8,192.0.2.*,2001:db8::/32""#).from)
        #expect(from.allows(client: "10.9.8.7:4711"))
        #expect(!from.allows(client: "10.1.2.3:4711"))  // negation wins wherever it stands
        #expect(from.allows(client: "192.0.2.200"))
        #expect(from.allows(client: "[2001:db8::5]:22"))
        #expect(from.allows(client: "[2001:DB8:0::5]:22"))  // canonical text for wildcards, bytes for networks
        #expect(!from.allows(client: "192.0.3.1:1"))
        #expect(!from.allows(client: "unknown"))
        #expect(!from.allows(client: ""))
        #expect(!from.allows(client: "10.1.2.3 extra"))
        let onlyNegative = try #require(try options(#"from="!127.0.0.2""#).from)
        #expect(!onlyNegative.allows(client: "127.0.0.1:5"))  // nothing positive matched: refused, as sshd
        let mapped = try #require(try options(#"from="127.0.0.1""#).from)
        #expect(mapped.allows(client: "[::ffff:127.0.0.1]:5"))
        let wildcards = try #require(try options(#"from="1?.*.3, 192.0.2.1 ""#).from)
        #expect(wildcards.allows(client: "12.200.1.3:9"))
        #expect(!wildcards.allows(client: "12.200.1.4:9"))
        #expect(wildcards.allows(client: "192.0.2.1:9"))  // blanks around a pattern do not count
    }

    @Test func wildcardsDoNotBlowUp() {
        let pattern = Array(String(repeating: "*a", count: 200).utf8)[...]
        let text = Array(String(repeating: "a", count: 5000).utf8 + [UInt8(ascii: "b")])[...]
        #expect(!Wildcard.matches(pattern, text))
        #expect(Wildcard.matches(Array("*".utf8)[...], Array("".utf8)[...]))
        #expect(Wildcard.matches(Array("a*b?d".utf8)[...], Array("axxbcd".utf8)[...]))
        #expect(!Wildcard.matches(Array("a*b?d".utf8)[...], Array("axxbd".utf8)[...]))
    }

    @Test func permitOpen() throws {
        let parsed = try options(#"permitopen="localhost:5432",permitopen="[::1]:*",permitopen="*:80""#)
        #expect(parsed.permitOpen.map(\.description) == ["localhost:5432", "[::1]:*", "*:80"])
        #expect(parsed.permitOpen[0].allows(host: "LOCALHOST", port: 5432))
        #expect(!parsed.permitOpen[0].allows(host: "localhost", port: 5433))
        #expect(parsed.permitOpen[1].allows(host: "::1", port: 1))
        #expect(parsed.permitOpen[2].allows(host: "example.com", port: 80))
        #expect(!parsed.permitOpen.contains { $0.allows(host: "example.com", port: 443) })
    }

    @Test func expiryTimeTheEarliestWins() throws {
        let parsed = try options(#"expiry-time="20300101Z",expiry-time="202001021230""#)
        let expiry = try #require(parsed.expiry)
        #expect(expiry.description == "202001021230")
        #expect(expiry.epoch(utcOffset: 0) == 1_577_968_200)  // 2020-01-02T12:30:00Z
        #expect(expiry.epoch(utcOffset: 3600) == 1_577_968_200 - 3600)
        #expect(try options(#"expiry-time="20300101000000z""#).expiry?.epoch(utcOffset: 7200) == 1_893_456_000)
        #expect(try options(#"expiry-time="20000229""#).expiry?.epoch(utcOffset: 0) == 951_782_400)
    }

    @Test func environmentFirstOfANameCounts() throws {
        let parsed = try options(#"environment="A=1",environment="B=x=y",environment="A=2""#)
        #expect(parsed.environment == [.init(name: "A", value: "1"), .init(name: "B", value: "x=y")])
    }

    @Test func permitListenAndTunnelNeedAValueAndChangeNothing() throws {
        #expect(try options(#"permitlisten="localhost:8080",tunnel="0""#) == KeyOptions())
    }
}

@Suite struct KeyOptionsInFilesTests {
    @Test func anUnknownOptionDropsItsKeyAndNamesTheLine() {
        let file = AuthorizedKeysFile(parsing: "bogus-option \(ed25519Line)\nfrom=\"10.0.0.0/8\",frobnicate \(ecdsaLine)\nrestrict \(ed25519Line)")
        #expect(file.keys.map(\.line) == [3])
        #expect(file.issues.map(\.line) == [1, 2])
        #expect(file.issues.allSatisfy { $0.skipped && $0.message.hasSuffix("the key is not used") })
        #expect(file.issues[0].message.contains(#"unknown option "bogus-option""#))
        #expect(file.issues[1].message.contains(#"unknown option "frobnicate""#))
    }

    @Test func theOptionsFieldEndsWhereSshdEndsIt() {
        // `\"` never opens or closes quotes (sshd_advance_past_options); a backslash before
        // a quote is not swallowed by a preceding backslash.
        let file = AuthorizedKeysFile(parsing: #"command="a\\" \#(ed25519Line)"#)
        #expect(file.keys.isEmpty)  // the quote never closes: the whole line is one options field
    }

    @Test func theSameKeyOnTwoLinesTheFirstThatAllowsWins() {
        let file = AuthorizedKeysFile(parsing: "from=\"10.0.0.0/8\",command=\"inside\" \(ed25519Line)\nfrom=\"192.0.2.0/24\",no-pty \(ed25519Line)")
        let policy = SSHAuthPolicy(authorizedKeys: file.keys)
        let blob = file.keys[0].blob
        guard case .accepted(let inside) = policy.checkKey(type: "ssh-ed25519", blob: blob, client: "10.1.1.1:5", now: 0) else {
            Issue.record("refused from 10/8"); return
        }
        #expect(inside.line == 1 && inside.options.command == "inside")
        guard case .accepted(let outside) = policy.checkKey(type: "ssh-ed25519", blob: blob, client: "192.0.2.9:5", now: 0) else {
            Issue.record("refused from 192.0.2/24"); return
        }
        #expect(outside.line == 2 && !outside.options.allows(.pty))
        guard case .rejected(let reason) = policy.checkKey(type: "ssh-ed25519", blob: blob, client: "198.51.100.1:5", now: 0) else {
            Issue.record("accepted from elsewhere"); return
        }
        #expect(reason == #"key option from="10.0.0.0/8" (line 1) does not allow client 198.51.100.1:5"#)
    }

    @Test func anExpiredKeyIsRefusedNamingTheOption() {
        let file = AuthorizedKeysFile(parsing: "expiry-time=\"20200101Z\" \(ed25519Line)")
        let policy = SSHAuthPolicy(authorizedKeys: file.keys)
        let blob = file.keys[0].blob
        #expect(policy.checkKey(type: "ssh-ed25519", blob: blob, client: "x", now: 1_577_836_799) == .accepted(file.keys[0]))
        #expect(policy.checkKey(type: "ssh-ed25519", blob: blob, client: "x", now: 1_577_836_800)
                == .rejected(reason: #"key option expiry-time="20200101Z" (line 1): the key has expired"#))
    }

    @Test func forcedCommands() {
        #expect(ForcedCommand.program(for: .shell, forced: nil) == .shell)
        #expect(ForcedCommand.program(for: .exec("ls"), forced: "echo hi") == .exec("echo hi"))
        #expect(ForcedCommand.program(for: .sftp, forced: "echo hi") == .exec("echo hi"))
        #expect(ForcedCommand.program(for: .sftp, forced: " internal-sftp ") == .sftp)
        guard case .exec(let refusal) = ForcedCommand.program(for: .shell, forced: "internal-sftp") else {
            Issue.record("a shell ran under internal-sftp"); return
        }
        #expect(refusal.contains("sftp connections only"))
        #expect(ForcedCommand.originalCommand(of: .exec("make test")) == "make test")
        #expect(ForcedCommand.originalCommand(of: .sftp) == "internal-sftp")
        #expect(ForcedCommand.originalCommand(of: .shell) == nil)
    }
}

/// The usage page served at `/` and `/docs`: how to start an agent in a CI job and how to
/// connect to it, with this server's address filled in so every command works when copied.
public struct DocsPage: Sendable {
    /// True when users reach the server over TLS (directly or through a proxy).
    public var secure: Bool
    /// The host (and port) users reach the server at.
    public var host: String
    /// The server's user (`converge --user`), if any.
    public var user: String?
    /// True when the server registers only agents with a token (`--agent-token-file`).
    public var tokenRequired = false
    /// The SSH jump host, when the server runs one (`--ssh-listen`).
    public var jump: Jump? = nil

    /// What people need to use the jump host: its port and its key, to pin it.
    public struct Jump: Sendable {
        public var port: Int
        /// `ssh-ed25519 AAAA...`
        public var publicKeyLine: String
        /// `SHA256:...`
        public var fingerprint: String

        public init(port: Int, publicKeyLine: String, fingerprint: String) {
            self.port = port
            self.publicKeyLine = publicKeyLine
            self.fingerprint = fingerprint
        }
    }

    public init(secure: Bool, host: String, user: String?) {
        self.secure = secure
        self.host = host
        self.user = user
    }

    public var html: String {
        let s = secure ? "s" : ""
        let host = Self.escape(self.host)
        let user = Self.escape(self.user ?? "USER")
        let http = "http\(s)://\(host)", ws = "ws\(s)://\(host)"
        let userNote = self.user != nil
            ? "<p>This server's user is <code>\(user)</code>: the server hands it to every agent when the agent starts, and it is the user name to give <code>ssh</code> and <code>sftp</code>, with the password the server's operator gave you.</p>"
            : "<p>This server has no user of its own: log in with a key from the agent's <code>.authorized_keys</code> or with the agent's own password. Any user name will do; <code>USER</code> below is a placeholder.</p>"
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Converge</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
        pre { background: #f4f4f6; padding: .8rem 1rem; overflow-x: auto; border-radius: 6px; }
        code { background: #f4f4f6; padding: 0 .2rem; border-radius: 3px; }
        pre code { background: none; padding: 0; }
        table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .7rem; text-align: left; }
        </style>
        </head>
        <body>
        <h1>Converge</h1>

        <h2>About</h2>
        <p>Converge helps you find out why a build failed on a continuous integration server.
        The cause of a failed job is often hard to see from its log, and you usually cannot log in
        where it ran: jobs run on a build farm that gives no access to its build agents or, in more
        modern setups, in ephemeral containers.</p>
        <p>Converge gives you a remote shell inside such a job. The job downloads a small agent
        program with <code>curl</code> or <code>wget</code> and starts it; the agent connects to this
        Converge server, a rendezvous server. You then connect to the same server, and it joins your
        client to the agent in the job.</p>
        <p>The connection from you (the client) to the agent in the CI job is encrypted end to end
        with SSH. The Converge server is no more than a bit pipe that carries bytes between client and
        agent; it cannot read them.</p>
        <p>Both <code>ssh</code> and <code>sftp</code> work (and <code>scp</code>, and port forwarding
        with <code>ssh -L</code>), and you can open several shells at once.</p>
        \(jump == nil ? "" : "<p>Nothing to install on your machine: this server is also an SSH jump host, so the OpenSSH that macOS, Windows 10 and later, Linux and the BSDs come with reaches the job with <code>ssh -J</code>.</p>")
        <p>The agent has a timeout, so a job does not hang forever waiting for someone to connect and
        does not keep a build agent busy for long. By default the agent exits with status 0 when the
        first client that logged in leaves. From a shell in the session you can change this, and the
        session's expiry, by touching a <code>.hold</code> file; the messages shown when you log in
        explain how. When the session is about to expire, your shells get a warning.</p>

        <h2>Usage</h2>
        <h3>In the continuous integration job</h3>
        <p>Download the agent, make it executable and run it:</p>
        <pre><code>curl \(http)/docs/agent &gt; agent
        chmod 755 agent
        ./agent --id ID \(ws)</code></pre>
        <p>or with <code>wget</code>:</p>
        <pre><code>wget -O agent \(http)/docs/agent
        chmod 755 agent
        ./agent --id ID \(ws)</code></pre>
        <p><code>ID</code> is a unique name for the job, the rendezvous ID (1 to 64 characters of
        <code>A-Z a-z 0-9 . _ -</code>). It must not clash with the ID of another agent. Leave out
        <code>--id</code> and the agent makes up a random one. The agent connects to the Converge server
        and registers the ID; you reach the job by giving the server the same ID. Between you and the
        agent everything is encrypted by SSH: the rendezvous server cannot read it, it only passes bytes
        between your SSH client and the SSH server embedded in the agent.</p>
        <p>The agent prints its ID, its host key fingerprint, a <code>known_hosts</code> line and the
        exact commands to connect. It has more options: download it and run it without arguments to see
        them all.</p>
        <p>Windows builds are not provided: the agent and the client tools run on Linux.</p>

        \(jumpSection)
        <h3>On your machine: ssh with a proxy command</h3>
        <p><code>wsproxy</code> is a proxy command for SSH that makes the connection to the Converge server.
        Download it once (see <a href="#downloads">Downloads</a>). It depends only on the WebSocket standard,
        not on Converge, so any other tool that maps standard input and output to a WebSocket can take its
        place. Then run your usual SSH or SFTP client:</p>
        <pre><code>ssh -oServerAliveInterval=10 -oProxyCommand="wsproxy \(ws)/client/ID" \(user)@localhost
        sftp -oServerAliveInterval=10 -oProxyCommand="wsproxy \(ws)/client/ID" \(user)@localhost</code></pre>

        <h3>On your machine: ssh through a local TCP port</h3>
        <p>This is less convenient than the proxy command, as it takes two commands. <code>tcptows</code>
        (see <a href="#downloads">Downloads</a>) listens on local port 10000 and turns each connection into
        a WebSocket connection to the Converge server, so that plain <code>ssh</code> and <code>sftp</code>
        can connect to that port:</p>
        <pre><code>tcptows \(ws)/client/ID</code></pre>
        <p>and then, in another terminal:</p>
        <pre><code>ssh -oServerAliveInterval=10 -p 10000 \(user)@localhost
        sftp -oServerAliveInterval=10 -oPort=10000 \(user)@localhost</code></pre>

        <h2>Authentication</h2>
        \(userNote)
        <p>You can also log in with a key: put OpenSSH public keys in a file <code>.authorized_keys</code>
        in the directory where the agent is started, before starting it:</p>
        <pre><code>echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... you@laptop" &gt; .authorized_keys
        echo "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB... colleague@example.com" &gt;&gt; .authorized_keys</code></pre>
        <p>or let the agent fetch them when it starts, over verified HTTPS, from a URL such as your
        GitHub profile's address followed by <code>.keys</code> (repeat the option for more people; a URL
        that fails or lists no key stops the agent at once):</p>
        <pre><code>./agent --authorized-keys-url "$KEYS_URL" \(ws)</code></pre>
        <p>or give the agent its own password in the environment variable <code>CONVERGE_PASSWORD</code>
        (a CI secret). An agent with no way to log in refuses to start and tells you how to set one up.</p>
        \(registrationNote)

        <h2>Recipes for CI</h2>
        <p>Each waits up to <code>--timeout</code> for the first login and prints the commands to
        connect in the job's log. Once logged in, <code>touch .hold</code> keeps the agent running after
        you log out (and extends its expiry); <code>rm .hold</code> restores the default.</p>
        <p>GitHub Actions, as the last step of a job: runs when an earlier step failed and lets in whoever
        started the run, with their GitHub keys:</p>
        <pre><code>      - name: SSH into this job (on failure)
                if: ${{ failure() }}
                timeout-minutes: 60
                run: |
                  curl -fsS -o agent \(http)/docs/agent &amp;&amp; chmod 755 agent
                  ./agent --timeout 15m --authorized-keys-url "${{ github.server_url }}/${{ github.actor }}.keys" \(ws)</code></pre>
        <p>GitLab CI, in the job itself (<code>after_script</code> runs for at most
        <code>RUNNER_AFTER_SCRIPT_TIMEOUT</code>, 5 minutes unless raised):</p>
        <pre><code>build:
          variables:
            RUNNER_AFTER_SCRIPT_TIMEOUT: 45m
          script:
            - make test
          after_script:
            - |
              if [ "$CI_JOB_STATUS" = failed ]; then
                curl -fsS -o agent \(http)/docs/agent &amp;&amp; chmod 755 agent
                ./agent --timeout 15m --authorized-keys-url "$CI_SERVER_URL/$GITLAB_USER_LOGIN.keys" \(ws)
              fi</code></pre>
        <p>Any shell, with <code>KEYS_URL</code> the address of your public keys:</p>
        <pre><code>curl -fsS -o agent \(http)/docs/agent &amp;&amp; chmod 755 agent &amp;&amp; ./agent --timeout 10m --authorized-keys-url "$KEYS_URL" \(ws)</code></pre>

        <h2 id="downloads">Downloads</h2>
        <table>
        <tr><th>Component</th><th>Purpose</th><th>Linux (x86-64, static)</th></tr>
        <tr><td>agent</td><td>The agent to run inside a CI job</td><td><a href="/docs/agent">agent</a></td></tr>
        <tr><td>wsproxy</td><td>SSH proxy command that ssh can use directly</td><td><a href="/docs/wsproxy">wsproxy</a></td></tr>
        <tr><td>tcptows</td><td>TCP to WebSocket tunnel, so regular ssh and sftp clients can connect to Converge</td><td><a href="/docs/tcptows">tcptows</a></td></tr>
        </table>
        </body>
        </html>

        """
    }

    /// `ssh -J` first, when this server is a jump host: the commands with this host and
    /// port, the key to pin, and a config block for people who connect often.
    var jumpSection: String {
        guard let jump else { return "" }
        let name = Self.escape(Self.hostName(of: host))
        let target = jump.port == 22 ? name : "\(name):\(jump.port)"
        let knownHost = jump.port == 22 ? name : "[\(name)]:\(jump.port)"
        let user = Self.escape(self.user ?? "USER")
        return """
        <h3>On your machine: ssh -J, with nothing to install</h3>
        <p>This server is an SSH jump host on port \(jump.port). Any OpenSSH client reaches the job
        through it, on macOS, Windows 10 and later, Linux or BSD:</p>
        <pre><code>ssh -J \(target) \(user)@ID
        sftp -J \(target) \(user)@ID
        scp -J \(target) FILE \(user)@ID:
        ssh -J \(target) -L 8080:localhost:8080 \(user)@ID</code></pre>
        <p>The jump host lets anyone in without a password: all it grants is a channel to the agent
        registered under <code>ID</code>, whose own SSH login decides who gets in. Your SSH to the agent
        runs inside that channel, end to end; the server cannot read it.</p>
        <p>The jump host's key is <code>\(Self.escape(jump.fingerprint))</code>. To check it from your first
        connection on, add this line to <code>~/.ssh/known_hosts</code>:</p>
        <pre><code>\(knownHost) \(Self.escape(jump.publicKeyLine))</code></pre>
        <p>The agent's own host key is in the job's log, with its <code>known_hosts</code> line. If you
        connect often, name the jump host in <code>~/.ssh/config</code>:</p>
        <pre><code>Host converge
            HostName \(name)
            Port \(jump.port)
            ServerAliveInterval 10

        # one block per job you come back to (ID and its host key from the job's log)
        Host myjob
            HostName ID
            HostKeyAlias converge-ID
            ProxyJump converge</code></pre>
        <p>and then <code>ssh -J converge \(user)@ID</code>, or <code>ssh myjob</code>. Where only HTTPS
        gets out of your network, use <code>wsproxy</code> or <code>tcptows</code> below instead.</p>

        """
    }

    /// `example.com` of `example.com:8000`, `::1` of `[::1]:8000`.
    static func hostName(of host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        let parts = host.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 2 ? String(parts[0]) : host
    }

    /// Who may register agents here: anyone, or holders of a token.
    var registrationNote: String {
        tokenRequired
            ? "<p>This server registers only agents that present a registration token: put the token your operator gave you in the agent's environment as <code>CONVERGE_AGENT_TOKEN</code> (a CI secret). Without it the agent stops with a clear message (HTTP 401).</p>"
            : "<p>Anyone may register an agent on this server; what keeps others out of your job is SSH authentication in the agent. An operator can restrict registration to holders of a token (<code>converge --agent-token-file</code>); agents then pass it in <code>CONVERGE_AGENT_TOKEN</code>.</p>"
    }

    /// HTML-escapes text taken from request headers (Host, X-Forwarded-Host) or flags.
    static func escape(_ text: String) -> String {
        // Most text has nothing to escape (the sessions page escapes 10,000 rows of it).
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Where users reach this server, as seen in a request: `X-Forwarded-Proto`/`-Host`
    /// (set by a TLS proxy such as nginx) win over `Host`.
    public static func publicAddress(headers: HTTPHeadersView, fallbackHost: String) -> (secure: Bool, host: String) {
        let proto = headers("X-Forwarded-Proto")?.split(separator: ",").first.map { String($0.trimmingSpaces()) }
        let forwardedHost = headers("X-Forwarded-Host")?.split(separator: ",").first.map { String($0.trimmingSpaces()) }
        let host = forwardedHost.flatMap { $0.isEmpty ? nil : $0 } ?? headers("Host") ?? fallbackHost
        // Only host-name characters: a hostile header must not inject anything into the page.
        let clean = host.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:[]_".unicodeScalars.contains($0)) }
        return (proto?.lowercased() == "https", clean && !host.isEmpty ? host : fallbackHost)
    }

    public typealias HTTPHeadersView = (String) -> String?
}

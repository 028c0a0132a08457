/// The systemd unit for the agent; `hooks/slipway-agent.service` is the same template.
package enum ServiceUnit {
    /// The unit that runs `executable agent run --home HOME` as `user`.
    package static func render(executable: String, home: String, user: String) -> String {
        """
        [Unit]
        Description=Slipway agent: builds, trains and serves pushed model repositories
        After=network.target

        [Service]
        Type=simple
        User=\(user)
        Environment=SLIPWAY_HOME=\(home)
        ExecStart=\(executable) agent run --home \(home)
        Restart=on-failure
        RestartSec=2
        KillSignal=SIGTERM
        TimeoutStopSec=30
        StandardOutput=journal
        StandardError=journal

        [Install]
        WantedBy=multi-user.target

        """
    }
}

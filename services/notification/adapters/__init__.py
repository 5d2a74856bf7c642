"""What the notification service uses to reach the world outside its database: the channel
providers (SMS, e-mail, WeChat, Alipay gateways), the guarded outbound HTTP that integrators'
URLs are called through, and the webhook sender on top of it."""

"""The typed ``ModelDeployment.status``: rollout progress (`status`), phases and conditions
(`phases`), and the timeline recorded into it and drawn from it (`timeline`)."""

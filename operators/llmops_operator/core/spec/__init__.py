"""The typed ``ModelDeployment.spec`` (`schema`): the bottom layer of the core."""

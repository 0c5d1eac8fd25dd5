"""The typed ``ModelDeployment.spec`` (`schema`): the bottom of the core, it imports no other part."""

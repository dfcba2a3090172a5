"""Customs gateways for the fault tests, loaded by a worker through SMARTGATE_CUSTOMS_GATEWAY."""

import os
import time

from clearance.engines.customs import RulesCustomsGateway


class SlowCustomsGateway(RulesCustomsGateway):
    """The real rules, answered slowly, so a test can kill the worker while a check runs."""

    def assess(self, declaration):
        time.sleep(float(os.environ.get("SLOW_GATEWAY_SECONDS", "3")))
        return super().assess(declaration)

// Wires each seed surface to the router when its type is declared.
#include <reqstore/ops/log.hpp>
#include <reqstore/surfaces/autodesk.hpp>
#include <reqstore/surfaces/box.hpp>
#include <reqstore/surfaces/consentgrid.hpp>
#include <reqstore/surfaces/docspring.hpp>
#include <reqstore/surfaces/jsonapi.hpp>
#include <reqstore/surfaces/seed_surfaces.hpp>

namespace reqstore::surfaces
{

void add_seed_surfaces(http::router& routes, core::record_service& service)
{
    struct seed
    {
        std::string_view type;
        void (*add)(http::router&, core::record_service&);
    };
    const seed seeds[] = {
        {docspring_type, add_docspring_surface}, {box_type, add_box_surface},
        {autodesk_type, add_autodesk_surface},   {jsonapi_type, add_jsonapi_surface},
        {dsr_type, add_consentgrid_surface},
    };
    for (const auto& s : seeds)
    {
        if (service.types().find(s.type))
            s.add(routes, service);
        else
            ops::log().info("seed surface left out: its type is not declared", {{"type", s.type}});
    }
}

} // namespace reqstore::surfaces
